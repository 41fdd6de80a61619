/**
 * The surface the classic-control scenes are drawn on: RGB bytes, as Gymnasium's `render()` returns
 * them (H×W×3, row-major, top row first), addressed the way its pygame code draws: y up.
 *
 * Gymnasium draws every scene on a pygame Surface with y pointing up from the bottom row, then flips
 * the whole surface vertically (`pygame.transform.flip(surf, False, True)`). Writing each pixel
 * straight to its flipped row gives the same bytes without a second pass over the frame.
 */
import type { RgbFrame } from '../envs/env.js';
import type { UniformColumns } from './uniform-columns.js';

/** An opaque colour as [r, g, b]; every colour Gymnasium's classic-control renderers use is opaque. */
export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

/** Reused canvases by size; a few sizes per thread at most (classic control has two). */
const reusable = new Map<string, Canvas>();
const MAX_REUSABLE = 8;

export class Canvas implements RgbFrame {
  readonly data: Uint8Array;
  /** Told of every write, for a shrink that skips runs of one colour (uniform-columns.ts); null: none. */
  columns: UniformColumns | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.clear(background);
  }

  /**
   * The thread's canvas of this size, cleared to `background`: what a frame is drawn on. Allocating
   * 720 KB afresh per frame cost ~750 µs (fresh pages: the kernel zeroes them on first touch) against
   * ~10 µs to clear a reused one (measured on the dev machine, node 20), 40× the drawing of a CartPole
   * frame. So a frame's bytes are overwritten by the next frame of that size drawn on the same thread:
   * encode or copy them first (the session encodes a frame into its reply at once). `columns`: keep
   * track of runs of one colour for this frame's shrink (null for none).
   */
  static reused(width: number, height: number, background: Rgb = WHITE, columns: UniformColumns | null = null): Canvas {
    const key = `${width}x${height}`;
    let canvas = reusable.get(key);
    if (canvas === undefined) {
      if (reusable.size >= MAX_REUSABLE) reusable.delete(reusable.keys().next().value!);
      canvas = new Canvas(width, height, background);
      reusable.set(key, canvas);
      canvas.columns = columns;
      columns?.reset(background);
    } else {
      canvas.columns = columns;
      canvas.clear(background);
    }
    return canvas;
  }

  clear(background: Rgb): void {
    this.columns?.reset(background);
    if (background[0] === background[1] && background[1] === background[2]) this.data.fill(background[0]);
    else {
      this.data[0] = background[0];
      this.data[1] = background[1];
      this.data[2] = background[2];
      // Doubling copies: log2(n) calls instead of one per pixel.
      for (let filled = 3; filled < this.data.length; filled *= 2) this.data.copyWithin(filled, 0, Math.min(filled, this.data.length - filled));
    }
  }

  /** Is (x, y) on the surface? (SDL's clip rectangle is the whole surface here.) */
  inside(x: number, y: number): boolean {
    return x >= 0 && x < this.width && y >= 0 && y < this.height;
  }

  /** Byte offset of pixel (x, y), y counted up from the bottom row; the caller checks `inside`. */
  offset(x: number, y: number): number {
    return ((this.height - 1 - y) * this.width + x) * 3;
  }

  /** Pixel (x, y) is about to be written other than by `set` or `span` (a blend); the caller checks `inside`. */
  touched(x: number, y: number): void {
    this.columns?.pixel(x, this.height - 1 - y);
  }

  /** Sets a pixel (clipped). */
  set(x: number, y: number, c: Rgb): void {
    if (!this.inside(x, y)) return;
    this.columns?.pixel(x, this.height - 1 - y);
    const o = this.offset(x, y);
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  /** Sets pixels x1..x2 (inclusive, x1 ≤ x2, already clipped) of row y. */
  span(x1: number, x2: number, y: number, c: Rgb): void {
    this.columns?.span(x1, x2, this.height - 1 - y, c);
    let o = this.offset(x1, y);
    const d = this.data;
    const n = x2 - x1 + 1;
    // Long runs (the Box2D scenes' sky and ground fill most of a 600×400 frame) by `fill` for greys
    // and doubling copies otherwise: a whole-frame fill went from 1.1 ms to ~0.1 ms (dev machine,
    // node 20), CarRacing's 300-1000 pixel rows 5-8x faster; short runs stay a plain loop, cheaper
    // than the calls.
    if (n >= 32) {
      if (c[0] === c[1] && c[1] === c[2]) this.data.fill(c[0], o, o + 3 * n);
      else {
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
        const end = o + 3 * n;
        for (let filled = 3; o + filled < end; filled *= 2) this.data.copyWithin(o + filled, o, o + Math.min(filled, end - o - filled));
      }
      return;
    }
    for (let x = x1; x <= x2; x++, o += 3) {
      d[o] = c[0];
      d[o + 1] = c[1];
      d[o + 2] = c[2];
    }
  }

  /** The frame as Gymnasium returns it (the canvas already is one). */
  frame(): RgbFrame {
    return { width: this.width, height: this.height, data: this.data };
  }
}
