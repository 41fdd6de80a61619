/**
 * Which parts of a canvas's rows are one colour, kept while drawing, so that smoothscale's
 * horizontal pass can take a run of pixels it knows to be one colour as `count × colour` instead of
 * reading them. The scene CarRacing shrinks from 1000 to 96 columns is mostly long runs of one
 * colour (background, grass squares, road tiles), and reading its 2.4 MB a frame byte by byte was
 * the largest cost of a step (37% of it, profiled); with this, a zoomed-in frame reads only the
 * source columns near polygon edges.
 *
 * The source row is cut the way the horizontal pass walks it: destination column k sums source
 * pixels `first[k]..last[k]` (the last one in part; the next column takes the rest of it, from the
 * sum already made). A (row, k) cell holds that range's colour when every pixel of it is known to be
 * that colour, or MIXED. A span write that covers a whole range sets its colour, one that covers part
 * of it, or any single-pixel write, makes it MIXED; MIXED cells are read pixel by pixel, so the
 * shrunk frame is the same either way, only cheaper.
 */
import type { Rgb } from './canvas.js';
import { columnPlan } from './smoothscale.js';

const MIXED = -1;

export class UniformColumns {
  /** Per (row, destination column): the range's colour packed as 0xRRGGBB, or MIXED. Rows top first, as the data's. */
  readonly state: Int32Array;
  /** First whole source pixel of each destination column (its last is the column plan's `end`). */
  readonly first: Int32Array;
  /** Destination column of each source pixel; dstW past the last column's pixels. */
  readonly #columnOf: Int32Array;
  readonly #last: Int32Array;

  constructor(
    readonly srcW: number,
    readonly height: number,
    readonly dstW: number,
  ) {
    const { end } = columnPlan(srcW, dstW);
    this.#last = end;
    this.first = new Int32Array(dstW);
    this.#columnOf = new Int32Array(srcW).fill(dstW);
    for (let k = 0; k < dstW; k++) {
      this.first[k] = k === 0 ? 0 : end[k - 1] + 1;
      for (let x = this.first[k]; x <= end[k]; x++) this.#columnOf[x] = k;
    }
    this.state = new Int32Array(height * dstW);
  }

  /** The whole canvas was cleared to `c`. */
  reset(c: Rgb): void {
    this.state.fill((c[0] << 16) | (c[1] << 8) | c[2]);
  }

  /** Pixels x1..x2 (x1 ≤ x2, on the canvas) of data row `row` were set to `c`. */
  span(x1: number, x2: number, row: number, c: Rgb): void {
    const k1 = this.#columnOf[x1];
    const k2 = Math.min(this.#columnOf[x2], this.dstW - 1);
    const packed = (c[0] << 16) | (c[1] << 8) | c[2];
    const first = this.first;
    const last = this.#last;
    const base = row * this.dstW;
    for (let k = k1; k <= k2; k++) this.state[base + k] = first[k] >= x1 && last[k] <= x2 ? packed : MIXED;
  }

  /** Pixel x of data row `row` was written (set or blended). */
  pixel(x: number, row: number): void {
    const k = this.#columnOf[x];
    if (k < this.dstW) this.state[row * this.dstW + k] = MIXED;
  }
}
