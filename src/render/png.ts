/**
 * A small PNG codec on node:zlib: encodes RGB frames (what gym-server served, what a browser shows)
 * and decodes the 8-bit, non-interlaced PNGs the tests compare against. Written here rather than
 * taken from npm (pngjs, fast-png): the format needs only chunk framing, CRC-32 and the five row
 * filters, and the encoder is then ~40 lines on the zlib the runtime already has.
 */
import { promisify } from 'node:util';
import { deflate, deflateSync, inflateSync } from 'node:zlib';

const deflateAsync = promisify(deflate);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

/** An image of 8-bit samples: 1 channel (grey), 3 (RGB) or 4 (RGBA), row-major, top row first. */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

const COLOUR_TYPE_OF = { 1: 0, 3: 2, 4: 6 } as const;
const CHANNELS_OF: Record<number, 1 | 3 | 4> = { 0: 1, 2: 3, 6: 4 };

/**
 * Encodes 8-bit samples as a PNG, rows unfiltered, zlib level 1 by default. Measured on classic-control
 * frames (node 20, zlib deflate CPU time per 600×400 frame): the "Up" filter made CartPole 7% and
 * Acrobot 15% smaller but MountainCar 15% larger, for no faster deflate and an extra pass in
 * JavaScript; level 6 halves the bytes (CartPole 5.7 → 2.8 KB) for 4× the time (0.8 → 3.2 ms).
 */
export function encodePng(image: PngImage, level = 1): Buffer {
  const { raw, header } = pngParts(image);
  return assemble(header, deflateSync(raw, { level }));
}

/**
 * encodePng with the deflate (nearly all of its time) on libuv's thread pool instead of the calling
 * thread: what the main thread uses for the live view, where only the row copy stays on it.
 */
export async function encodePngAsync(image: PngImage, level = 1): Promise<Buffer> {
  const { raw, header } = pngParts(image);
  return assemble(header, await deflateAsync(raw, { level }));
}

/** The filtered rows (filter byte 0, then the row) and the IHDR body. */
function pngParts(image: PngImage): { raw: Buffer; header: Buffer } {
  const { width, height, channels, data } = image;
  const stride = width * channels;
  if (data.length !== stride * height) throw new Error(`expected ${stride * height} bytes, got ${data.length}`);
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = COLOUR_TYPE_OF[channels];
  return { raw, header };
}

function assemble(header: Buffer, idat: Buffer): Buffer {
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** Decodes an 8-bit, non-interlaced greyscale, RGB or RGBA PNG (what encodePng and Gymnasium's golden files are). */
export function decodePng(png: Uint8Array): PngImage {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!bytes.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let width = 0;
  let height = 0;
  let channels: 1 | 3 | 4 = 3;
  const idat: Buffer[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[12] !== 0 || !(body[9] in CHANNELS_OF)) {
        throw new Error(`unsupported PNG: bit depth ${body[8]}, colour type ${body[9]}, interlace ${body[12]}`);
      }
      channels = CHANNELS_OF[body[9]];
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? data[row + i - channels] : 0;
      const b = y > 0 ? data[row - stride + i] : 0;
      const c = y > 0 && i >= channels ? data[row - stride + i - channels] : 0;
      let predicted: number;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) >> 1; break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG row filter ${filter}`);
      }
      data[row + i] = (raw[src + i] + predicted) & 0xff;
    }
  }
  return { width, height, channels, data };
}
