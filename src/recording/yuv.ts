/**
 * RGB frames (H×W×3, as the renderers draw them) to the I420 (yuv420p) planes H.264 takes, BT.601
 * limited range (what players assume of a stream that says nothing else). H.264 in yuv420p needs even
 * sizes: an odd width or height is padded by repeating the last column or row.
 */

/** The even size a frame of `width`×`height` is encoded at. */
export function evenSize(width: number, height: number): { width: number; height: number } {
  return { width: width + (width & 1), height: height + (height & 1) };
}

/** Bytes of one I420 frame of an even `width`×`height`. */
export function i420Bytes(width: number, height: number): number {
  return (width * height * 3) / 2;
}

/**
 * Writes `rgb` (`width`×`height`) into `out`, an I420 frame of evenSize(width, height). Integer
 * arithmetic, two rows at a time, each 2×2 block's colour averaged for the chroma planes. An odd last
 * row or column is read twice (the padding repeats it).
 */
export function rgbToI420(rgb: Uint8Array, width: number, height: number, out: Uint8Array): void {
  const { width: w, height: h } = evenSize(width, height);
  const uPlane = w * h;
  const vPlane = uPlane + (w * h) / 4;
  const stride = width * 3;
  let c = 0;
  for (let y = 0; y < h; y += 2) {
    const top = Math.min(y, height - 1) * stride;
    const bottom = Math.min(y + 1, height - 1) * stride;
    let yTop = y * w;
    let yBottom = yTop + w;
    for (let x = 0; x < w; x += 2) {
      const left = x * 3;
      // The right pixel of the pair: the last column again when the width is odd.
      const right = x + 1 < width ? left + 3 : left;
      let o = top + left;
      let r = rgb[o], g = rgb[o + 1], b = rgb[o + 2];
      out[yTop++] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
      let rs = r, gs = g, bs = b;
      o = top + right;
      r = rgb[o]; g = rgb[o + 1]; b = rgb[o + 2];
      out[yTop++] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
      rs += r; gs += g; bs += b;
      o = bottom + left;
      r = rgb[o]; g = rgb[o + 1]; b = rgb[o + 2];
      out[yBottom++] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
      rs += r; gs += g; bs += b;
      o = bottom + right;
      r = rgb[o]; g = rgb[o + 1]; b = rgb[o + 2];
      out[yBottom++] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
      rs += r; gs += g; bs += b;
      // The block's mean colour (sums of four: >> 10 instead of >> 8).
      out[uPlane + c] = ((-38 * rs - 74 * gs + 112 * bs + 512) >> 10) + 128;
      out[vPlane + c] = ((112 * rs - 94 * gs - 18 * bs + 512) >> 10) + 128;
      c++;
    }
  }
}
