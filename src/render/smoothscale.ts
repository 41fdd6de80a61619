/**
 * pygame.transform.smoothscale for shrinking (pygame 2.1.2's filter_shrink_X then filter_shrink_Y,
 * the portable C versions): each destination pixel is the area average of the source pixels it
 * covers, in 16.16 fixed point with 16-bit accumulators. CarRacing draws its scene at 1000×800 and
 * shrinks it to the 96×96 observation (and 600×400 for `render()`).
 */
import type { RgbFrame } from '../envs/env.js';

/** Horizontal pass: `src` rows of `srcW` pixels into rows of `dstW`. */
function shrinkX(src: Uint8Array, dst: Uint8Array, height: number, srcW: number, dstW: number): void {
  const xspace = Math.trunc((0x10000 * srcW) / dstW);
  const xrecip = Math.trunc(0x100000000 / xspace);
  let s = 0;
  let d = 0;
  for (let y = 0; y < height; y++) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let xcounter = xspace;
    for (let x = 0; x < srcW; x++, s += 3) {
      if (xcounter > 0x10000) {
        a0 += src[s];
        a1 += src[s + 1];
        a2 += src[s + 2];
        xcounter -= 0x10000;
      } else {
        const xfrac = 0x10000 - xcounter;
        // Products stay below 2^31: an accumulator holds at most ~11 pixels of 255.
        dst[d] = (((a0 + ((src[s] * xcounter) >> 16)) & 0xffff) * xrecip) >>> 16;
        dst[d + 1] = (((a1 + ((src[s + 1] * xcounter) >> 16)) & 0xffff) * xrecip) >>> 16;
        dst[d + 2] = (((a2 + ((src[s + 2] * xcounter) >> 16)) & 0xffff) * xrecip) >>> 16;
        d += 3;
        a0 = (src[s] * xfrac) >> 16;
        a1 = (src[s + 1] * xfrac) >> 16;
        a2 = (src[s + 2] * xfrac) >> 16;
        xcounter = xspace - xfrac;
      }
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
 * reused by the next call for that size on this thread, as Canvas.reused's are.
 */
export function smoothscale(src: RgbFrame, width: number, height: number): RgbFrame {
  if (width > src.width || height > src.height) throw new RangeError('smoothscale here only shrinks');
  const mid = width === src.width ? src.data : buffer(width * src.height * 3);
  if (width !== src.width) shrinkX(src.data, mid, src.height, src.width, width);
  const out = buffer(width * height * 3 + 1).subarray(0, width * height * 3);
  if (height !== src.height) shrinkY(mid, out, width, src.height, height);
  else out.set(mid);
  return { width, height, data: out };
}
