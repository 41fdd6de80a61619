/**
 * pygame.transform.smoothscale for shrinking (pygame 2.1.2's filter_shrink_X then filter_shrink_Y,
 * the portable C versions): each destination pixel is the area average of the source pixels it
 * covers, in 16.16 fixed point with 16-bit accumulators. CarRacing draws its scene at 1000×800 and
 * shrinks it to the 96×96 observation (and 600×400 for `render()`).
 */
import type { RgbFrame } from '../envs/env.js';
import type { UniformColumns } from './uniform-columns.js';

/**
 * Where each destination column of the horizontal pass starts and ends: the walk of pygame's
 * `xcounter` depends only on the column, so it is done once per size pair and each row then sums
 * runs of whole pixels (branch-free: 2.3 vs 5.8 ms for a 1000×800 frame, measured).
 */
interface ColumnPlan {
  /** Source column of destination column k's last (partly covered) pixel, and its weights in 16.16. */
  readonly end: Int32Array;
  readonly counter: Int32Array;
  readonly frac: Int32Array;
  readonly recip: number;
}
const plans = new Map<string, ColumnPlan>();

export function columnPlan(srcW: number, dstW: number): ColumnPlan {
  const key = `${srcW}>${dstW}`;
  let plan = plans.get(key);
  if (plan !== undefined) return plan;
  const xspace = Math.trunc((0x10000 * srcW) / dstW);
  const end = new Int32Array(dstW);
  const counter = new Int32Array(dstW);
  const frac = new Int32Array(dstW);
  let xcounter = xspace;
  let k = 0;
  for (let x = 0; x < srcW && k < dstW; x++) {
    if (xcounter > 0x10000) xcounter -= 0x10000;
    else {
      end[k] = x;
      counter[k] = xcounter;
      frac[k] = 0x10000 - xcounter;
      xcounter = xspace - frac[k];
      k++;
    }
  }
  plan = { end, counter, frac, recip: Math.trunc(0x100000000 / xspace) };
  plans.set(key, plan);
  return plan;
}

/** Horizontal pass: `src` rows of `srcW` pixels into rows of `dstW`. */
function shrinkX(src: Uint8Array, dst: Uint8Array, height: number, srcW: number, dstW: number): void {
  const { end, counter, frac, recip } = columnPlan(srcW, dstW);
  let d = 0;
  for (let y = 0, row = 0; y < height; y++, row += srcW * 3) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let s = row;
    for (let k = 0; k < dstW; k++) {
      const e = row + end[k] * 3;
      for (; s < e; s += 3) {
        a0 += src[s];
        a1 += src[s + 1];
        a2 += src[s + 2];
      }
      const c = counter[k];
      const fr = frac[k];
      // Products stay below 2^31: an accumulator holds at most ~11 pixels of 255.
      dst[d] = ((a0 + ((src[s] * c) >> 16)) * recip) >>> 16;
      dst[d + 1] = ((a1 + ((src[s + 1] * c) >> 16)) * recip) >>> 16;
      dst[d + 2] = ((a2 + ((src[s + 2] * c) >> 16)) * recip) >>> 16;
      d += 3;
      a0 = (src[s] * fr) >> 16;
      a1 = (src[s + 1] * fr) >> 16;
      a2 = (src[s + 2] * fr) >> 16;
      s += 3;
    }
  }
}

/**
 * A row of destination pixels for one colour v, each as the horizontal pass gives it when the column
 * before is v too: looked up by packed colour for a plan (a frame has a handful of colours, kept
 * across frames; a domain-randomised env brings new ones each episode, hence the bound).
 */
const uniformRows = new Map<ColumnPlan, Map<number, Uint8Array>>();
const MAX_UNIFORM_ROWS = 64;

function uniformRow(plan: ColumnPlan, dstW: number, v: number): Uint8Array {
  let byColor = uniformRows.get(plan);
  if (byColor === undefined) uniformRows.set(plan, (byColor = new Map()));
  let out = byColor.get(v);
  if (out !== undefined) return out;
  if (byColor.size >= MAX_UNIFORM_ROWS) byColor.clear();
  out = new Uint8Array(dstW * 3);
  const { end, counter, frac, recip } = plan;
  for (let k = 0, first = 0; k < dstW; first = end[k] + 1, k++) {
    for (let ch = 0; ch < 3; ch++) {
      const value = (v >>> (16 - 8 * ch)) & 0xff;
      const carried = k === 0 ? 0 : (value * frac[k - 1]) >> 16;
      out[k * 3 + ch] = ((carried + (end[k] - first) * value + ((value * counter[k]) >> 16)) * recip) >>> 16;
    }
  }
  byColor.set(v, out);
  return out;
}

/**
 * shrinkX for a canvas that kept track of its runs of one colour: a destination column whose source
 * pixels are all one colour v is computed as the loop would sum them (n·v plus the weighted last
 * pixel, integers: the same bytes), without reading them; the others are read as shrinkX reads them.
 * A run of such columns of one colour after the first is copied from that colour's row (uniformRow):
 * a zoomed-in CarRacing frame has ~5,000-9,000 runs in its 76,800 (row, column) cells.
 */
function shrinkXUniform(src: Uint8Array, dst: Uint8Array, height: number, srcW: number, dstW: number, columns: UniformColumns): void {
  const plan = columnPlan(srcW, dstW);
  const { end, counter, frac, recip } = plan;
  const { first, state } = columns;
  let d = 0;
  for (let y = 0, row = 0; y < height; y++, row += srcW * 3) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    const base = y * dstW;
    for (let k = 0; k < dstW; k++) {
      const c = counter[k];
      const fr = frac[k];
      const v = state[base + k];
      if (v >= 0 && (k === 0 || state[base + k - 1] === v)) {
        // A run of v: the columns up to its end as v's row has them, then the carry out of the last.
        let j = k;
        while (j + 1 < dstW && state[base + j + 1] === v) j++;
        // A loop, not dst.set(subarray): a subarray per run was a garbage-collection share of its own.
        const runRow = uniformRow(plan, dstW, v);
        for (let t = k * 3, stop = (j + 1) * 3; t < stop; t++) dst[d++] = runRow[t];
        const r = v >>> 16;
        const g = (v >>> 8) & 0xff;
        const b = v & 0xff;
        a0 = (r * frac[j]) >> 16;
        a1 = (g * frac[j]) >> 16;
        a2 = (b * frac[j]) >> 16;
        k = j;
        continue;
      }
      if (v >= 0) {
        const r = v >>> 16;
        const g = (v >>> 8) & 0xff;
        const b = v & 0xff;
        const n = end[k] - first[k];
        dst[d] = ((a0 + n * r + ((r * c) >> 16)) * recip) >>> 16;
        dst[d + 1] = ((a1 + n * g + ((g * c) >> 16)) * recip) >>> 16;
        dst[d + 2] = ((a2 + n * b + ((b * c) >> 16)) * recip) >>> 16;
        a0 = (r * fr) >> 16;
        a1 = (g * fr) >> 16;
        a2 = (b * fr) >> 16;
      } else {
        let s = row + first[k] * 3;
        const e = row + end[k] * 3;
        for (; s < e; s += 3) {
          a0 += src[s];
          a1 += src[s + 1];
          a2 += src[s + 2];
        }
        dst[d] = ((a0 + ((src[s] * c) >> 16)) * recip) >>> 16;
        dst[d + 1] = ((a1 + ((src[s + 1] * c) >> 16)) * recip) >>> 16;
        dst[d + 2] = ((a2 + ((src[s + 2] * c) >> 16)) * recip) >>> 16;
        a0 = (src[s] * fr) >> 16;
        a1 = (src[s + 1] * fr) >> 16;
        a2 = (src[s + 2] * fr) >> 16;
      }
      d += 3;
    }
  }
}

/** Vertical pass: `srcH` rows of `width` pixels into `dstH` rows. */
function shrinkY(src: Uint8Array, dst: Uint8Array, width: number, srcH: number, dstH: number): void {
  const yspace = Math.trunc((0x10000 * srcH) / dstH);
  const yrecip = Math.trunc(0x100000000 / yspace);
  const rowLen = width * 3;
  const acc = new Uint16Array(rowLen);
  let ycounter = yspace;
  let d = 0;
  for (let y = 0, s = 0; y < srcH; y++, s += rowLen) {
    if (ycounter > 0x10000) {
      for (let k = 0; k < rowLen; k++) acc[k] += src[s + k];
      ycounter -= 0x10000;
    } else {
      const yfrac = 0x10000 - ycounter;
      for (let k = 0; k < rowLen; k++) {
        dst[d++] = (((acc[k] + ((src[s + k] * ycounter) >> 16)) & 0xffff) * yrecip) >>> 16;
        acc[k] = (src[s + k] * yfrac) >> 16;
      }
      ycounter = yspace - yfrac;
    }
  }
}

const scratch = new Map<number, Uint8Array>();
function buffer(size: number): Uint8Array {
  let b = scratch.get(size);
  if (b === undefined) {
    b = new Uint8Array(size);
    scratch.set(size, b);
  }
  return b;
}

/**
 * A frame shrunk to `width`×`height` (both no larger than the source's). The result's bytes are
 * reused by the next call for that size on this thread, as Canvas.reused's are. A canvas that kept
 * track of its runs of one colour for this width (`columns`) is shrunk without reading them.
 */
export function smoothscale(src: RgbFrame & { readonly columns?: UniformColumns | null }, width: number, height: number): RgbFrame {
  if (width > src.width || height > src.height) throw new RangeError('smoothscale here only shrinks');
  const mid = width === src.width ? src.data : buffer(width * src.height * 3);
  const columns = src.columns;
  if (width !== src.width) {
    if (columns && columns.srcW === src.width && columns.dstW === width && columns.height === src.height) {
      shrinkXUniform(src.data, mid, src.height, src.width, width, columns);
    } else shrinkX(src.data, mid, src.height, src.width, width);
  }
  const out = buffer(width * height * 3 + 1).subarray(0, width * height * 3);
  if (height !== src.height) shrinkY(mid, out, width, src.height, height);
  else out.set(mid);
  return { width, height, data: out };
}
