/**
 * Drawing for the toy-text boards: filled rectangles, discs, outlines and a tiny bitmap font, in
 * top-left ("y down") coordinates, on the same Canvas as the classic-control scenes. The art is
 * gym-tcp's own: Gymnasium's toy-text frames are third-party sprite images, which are not copied;
 * only their frame sizes are kept.
 */
import { Canvas, type Rgb } from './canvas.js';

/** A canvas drawn from the top-left corner, as board art is laid out. */
export class Board {
  readonly canvas: Canvas;

  constructor(width: number, height: number, background: Rgb) {
    this.canvas = Canvas.reused(width, height, background);
  }

  /** Fills the rectangle [x, x + w) × [y, y + h), clipped. */
  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const { width, height } = this.canvas;
    const x0 = Math.max(0, Math.round(x));
    const x1 = Math.min(width, Math.round(x + w)) - 1;
    if (x1 < x0) return;
    for (let row = Math.max(0, Math.round(y)), end = Math.min(height, Math.round(y + h)); row < end; row++) {
      this.canvas.span(x0, x1, height - 1 - row, c);
    }
  }

  /** A rectangle's outline, `t` pixels thick, inside its bounds. */
  frame(x: number, y: number, w: number, h: number, t: number, c: Rgb): void {
    this.rect(x, y, w, t, c);
    this.rect(x, y + h - t, w, t, c);
    this.rect(x, y, t, h, c);
    this.rect(x + w - t, y, t, h, c);
  }

  /** A disc centred on (cx, cy), its edge blended by 4×4 supersampling. */
  disc(cx: number, cy: number, r: number, c: Rgb): void {
    const { width, height, data } = this.canvas;
    for (let y = Math.floor(cy - r - 1); y <= Math.ceil(cy + r + 1); y++) {
      for (let x = Math.floor(cx - r - 1); x <= Math.ceil(cx + r + 1); x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        let hits = 0;
        for (let sy = 0; sy < 4; sy++) {
          for (let sx = 0; sx < 4; sx++) {
            const dx = x + (sx + 0.5) / 4 - cx;
            const dy = y + (sy + 0.5) / 4 - cy;
            if (dx * dx + dy * dy <= r * r) hits++;
          }
        }
        if (hits === 0) continue;
        const o = this.canvas.offset(x, height - 1 - y);
        for (let k = 0; k < 3; k++) data[o + k] = Math.round(data[o + k] + ((c[k] - data[o + k]) * hits) / 16);
      }
    }
  }

  /** `text` in the 3×5 font below, each font pixel `size` pixels square, centred on (cx, cy). */
  text(text: string, cx: number, cy: number, size: number, c: Rgb): void {
    const advance = 4 * size;
    const left = cx - (text.length * advance - size) / 2;
    const top = cy - (5 * size) / 2;
    for (let i = 0; i < text.length; i++) {
      const glyph = GLYPHS[text[i]];
      if (!glyph) continue;
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) {
          if (glyph[row][col] === '#') this.rect(left + i * advance + col * size, top + row * size, size, size, c);
        }
      }
    }
  }
}

/** A 3×5 pixel font: digits and the letters the boards name things with. */
const GLYPHS: Record<string, readonly string[]> = {
  '0': ['###', '#.#', '#.#', '#.#', '###'],
  '1': ['.#.', '##.', '.#.', '.#.', '###'],
  '2': ['###', '..#', '###', '#..', '###'],
  '3': ['###', '..#', '.##', '..#', '###'],
  '4': ['#.#', '#.#', '###', '..#', '..#'],
  '5': ['###', '#..', '###', '..#', '###'],
  '6': ['###', '#..', '###', '#.#', '###'],
  '7': ['###', '..#', '.#.', '.#.', '.#.'],
  '8': ['###', '#.#', '###', '#.#', '###'],
  '9': ['###', '#.#', '###', '..#', '###'],
  A: ['.#.', '#.#', '###', '#.#', '#.#'],
  B: ['##.', '#.#', '##.', '#.#', '##.'],
  C: ['.##', '#..', '#..', '#..', '.##'],
  D: ['##.', '#.#', '#.#', '#.#', '##.'],
  G: ['.##', '#..', '#.#', '#.#', '.##'],
  H: ['#.#', '#.#', '###', '#.#', '#.#'],
  J: ['..#', '..#', '..#', '#.#', '.#.'],
  K: ['#.#', '##.', '#..', '##.', '#.#'],
  Q: ['.#.', '#.#', '#.#', '##.', '.##'],
  R: ['##.', '#.#', '##.', '#.#', '#.#'],
  S: ['.##', '#..', '.#.', '..#', '##.'],
  Y: ['#.#', '#.#', '.#.', '.#.', '.#.'],
};
