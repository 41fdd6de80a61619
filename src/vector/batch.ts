/**
 * BATCH of docs/vector.md: a value per sub-env, on the wire either as a JSON list (each entry written
 * as the single env writes its value) or as one little-endian C-order array in base64
 * (`{"dtype", "shape", "data"}`). Both directions: observations, rewards and flags out, actions in.
 */
import os from 'node:os';
import { PY_FLOAT_MAX_BYTES, writePyFloat } from '../json/pyjson.js';
import { ActionError, Box, Discrete, MultiBinary, MultiDiscrete, Tuple, type Space } from '../spaces/index.js';

export const ENCODINGS = ['json', 'base64'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export const DTYPES = ['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'] as const;
export type Dtype = (typeof DTYPES)[number];

// Typed arrays are written in the machine's byte order, and the wire's is little-endian.
if (os.endianness() !== 'LE') throw new Error('gym-tcp vector envs need a little-endian machine');

const ITEM_BYTES: Record<Dtype, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };
const INTEGER_DTYPES: readonly Dtype[] = ['int64', 'int32', 'uint8', 'bool'];

/** How one sub-env's value of a space lies in a batch array: its dtype, its shape, its element count. */
interface ArrayLayout {
  dtype: Dtype;
  shape: readonly number[];
  size: number;
  /** Discrete: a value is a number; the others: a flat number array. */
  scalar: boolean;
}

/** The layout of a space's values in a batch array; null for a Tuple (a batch per component). */
export function layoutOf(space: Space<unknown>): ArrayLayout | null {
  if (space instanceof Discrete) return { dtype: 'int64', shape: [], size: 1, scalar: true };
  if (space instanceof Box) return { dtype: space.dtype, shape: space.shape, size: space.size, scalar: false };
  if (space instanceof MultiDiscrete) return { dtype: 'int64', shape: space.shape, size: space.nvec.length, scalar: false };
  // Gymnasium's int8; 0 and 1 read the same as uint8, which the wire's dtypes have.
  if (space instanceof MultiBinary) return { dtype: 'uint8', shape: space.shape, size: space.size, scalar: false };
  return null;
}

/** A typed array of `count` elements of `dtype`, with a way to write and read an element as a Number. */
function typedArray(dtype: Dtype, count: number): { bytes: Uint8Array; set(i: number, x: number): void } {
  switch (dtype) {
    case 'float32': {
      const a = new Float32Array(count);
      return { bytes: new Uint8Array(a.buffer), set: (i, x) => (a[i] = x) };
    }
    case 'float64': {
      const a = new Float64Array(count);
      return { bytes: new Uint8Array(a.buffer), set: (i, x) => (a[i] = x) };
    }
    case 'int64': {
      // Two 32-bit words per element: a BigInt per element would cost more than the step.
      const a = new Int32Array(count * 2);
      return {
        bytes: new Uint8Array(a.buffer),
        set: (i, x) => {
          a[2 * i] = x | 0;
          a[2 * i + 1] = x >= 0 && x < 0x80000000 ? 0 : x < 0 && x >= -0x80000000 ? -1 : Math.floor(x / 0x100000000);
        },
      };
    }
    case 'int32': {
      const a = new Int32Array(count);
      return { bytes: new Uint8Array(a.buffer), set: (i, x) => (a[i] = x) };
    }
    default: {
      const a = new Uint8Array(count);
      return { bytes: a, set: (i, x) => (a[i] = x) };
    }
  }
}

function base64Json(dtype: Dtype, shape: readonly number[], bytes: Uint8Array): string {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return `{"dtype": "${dtype}", "shape": [${shape.join(', ')}], "data": "${data}"}`;
}

/** The batch of one value per sub-env of `space` (observations, sampled actions). */
export function encodeValues(space: Space<unknown>, values: readonly unknown[], encoding: Encoding): string {
  if (encoding === 'json') {
    if (space instanceof Box && space.shape.length === 1 && (space.dtype === 'float32' || space.dtype === 'float64')) return floatListsJson(values as number[][]);
    let s = '[';
    for (let i = 0; i < values.length; i++) s += (i ? ', ' : '') + space.encode(values[i]);
    return s + ']';
  }
  const layout = layoutOf(space);
  if (layout === null) {
    // A Tuple: one batch per component, in a list (Gymnasium batches a Tuple space as a tuple of batches).
    const tuple = space as Tuple;
    return '[' + tuple.spaces.map((component, c) => encodeValues(component, values.map((v) => (v as unknown[])[c]), encoding)).join(', ') + ']';
  }
  if (layout.dtype === 'float32' || layout.dtype === 'float64') {
    // Observations of the Box envs, straight into the typed array: through `set`, a call per element,
    // this loop was several times slower.
    const a = layout.dtype === 'float32' ? new Float32Array(values.length * layout.size) : new Float64Array(values.length * layout.size);
    const size = layout.size;
    for (let i = 0, at = 0; i < values.length; i++, at += size) {
      const v = values[i] as number[];
      for (let k = 0; k < size; k++) a[at + k] = v[k];
    }
    return base64Json(layout.dtype, [values.length, ...layout.shape], new Uint8Array(a.buffer));
  }
  const { bytes, set } = typedArray(layout.dtype, values.length * layout.size);
  if (layout.scalar) {
    for (let i = 0; i < values.length; i++) set(i, values[i] as number);
  } else {
    let at = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number[];
      for (let k = 0; k < layout.size; k++) set(at++, v[k]);
    }
  }
  return base64Json(layout.dtype, [values.length, ...layout.shape], bytes);
}

/**
 * JSON text written as ASCII bytes and made a string once: a string per number and the joins of
 * thousands of them were most of a JSON vector step. `write` fills `out` (room for `maxBytes`) and
 * returns the end. The buffer is kept for the next batch up to 1 MiB (4,096 CartPoles' observations
 * need ~440 KB): a fresh one of that size per step was fresh pages, and their faults, every time.
 */
function asciiText(maxBytes: number, write: (out: Buffer) => number): string {
  let out = scratch;
  if (maxBytes > out.length) {
    out = Buffer.allocUnsafe(maxBytes);
    if (maxBytes <= MAX_SCRATCH_BYTES) scratch = out;
  }
  const end = write(out);
  if (end <= TEXT_PIECE_BYTES) return out.toString('latin1', 0, end);
  // In pieces: V8 puts a string over 128 KiB in its large-object space, which cost ~4 ns a byte here
  // against ~0.07 for smaller ones (fresh pages each time). The reply's one flat copy is made later,
  // where its bytes are written out.
  let text = '';
  for (let from = 0; from < end; from += TEXT_PIECE_BYTES) text += out.toString('latin1', from, Math.min(end, from + TEXT_PIECE_BYTES));
  return text;
}
const TEXT_PIECE_BYTES = 64 * 1024;
const MAX_SCRATCH_BYTES = 1 << 20;
let scratch = Buffer.allocUnsafe(0);

/** `[[x, …], …]`: what joining a flat float Box's `encode` of each value gives. */
function floatListsJson(values: readonly number[][]): string {
  let maxBytes = 2;
  for (let i = 0; i < values.length; i++) maxBytes += 4 + values[i].length * (PY_FLOAT_MAX_BYTES + 2);
  return asciiText(maxBytes, (out) => {
    let at = 0;
    out[at++] = 0x5b; // [
    for (let i = 0; i < values.length; i++) {
      if (i) at = comma(out, at);
      out[at++] = 0x5b;
      const v = values[i];
      for (let k = 0; k < v.length; k++) {
        if (k) at = comma(out, at);
        at = writePyFloat(v[k], out, at);
      }
      out[at++] = 0x5d; // ]
    }
    out[at++] = 0x5d;
    return at;
  });
}

function comma(out: Uint8Array, at: number): number {
  out[at] = 0x2c;
  out[at + 1] = 0x20;
  return at + 2;
}

/** Rewards: floats (JSON) or float64. */
export function encodeFloats(values: Float64Array, encoding: Encoding): string {
  if (encoding === 'base64') return base64Json('float64', [values.length], new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return asciiText(2 + values.length * (PY_FLOAT_MAX_BYTES + 2), (out) => {
    let at = 0;
    out[at++] = 0x5b;
    for (let i = 0; i < values.length; i++) {
      if (i) at = comma(out, at);
      at = writePyFloat(values[i], out, at);
    }
    out[at++] = 0x5d;
    return at;
  });
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

/** Flags: booleans (JSON) or bool, one byte each. */
export function encodeFlags(values: Uint8Array, encoding: Encoding): string {
  if (encoding === 'base64') return base64Json('bool', [values.length], values);
  return asciiText(2 + values.length * 7, (out) => {
    let at = 0;
    out[at++] = 0x5b;
    for (let i = 0; i < values.length; i++) {
      if (i) at = comma(out, at);
      const word = values[i] ? TRUE : FALSE;
      for (let k = 0; k < word.length; k++) out[at++] = word[k];
    }
    out[at++] = 0x5d;
    return at;
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The base64 form of a batch, as a client sent it. */
function isBase64Batch(raw: unknown): raw is { dtype: unknown; shape: unknown; data: unknown } {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'data' in raw;
}

/** Reads element `i` of a little-endian array of `dtype` as a Number (int64 beyond 2^53 loses digits; the spaces refuse it). */
function reader(dtype: Dtype, bytes: Buffer): (i: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => bytes.readFloatLE(4 * i);
    case 'float64':
      return (i) => bytes.readDoubleLE(8 * i);
    case 'int64':
      return (i) => bytes.readInt32LE(8 * i + 4) * 0x100000000 + bytes.readUInt32LE(8 * i);
    case 'int32':
      return (i) => bytes.readInt32LE(4 * i);
    default:
      return (i) => bytes[i];
  }
}

/**
 * The raw actions, one per sub-env, from a batch in either form, checked for count, dtype and shape
 * (not yet against the space: the caller parses each and names the sub-env that fails).
 */
export function decodeActions(space: Space<unknown>, raw: unknown, count: number): unknown[] {
  if (Array.isArray(raw)) {
    if (raw.length !== count) throw new ActionError(`the batch holds ${raw.length} action${raw.length === 1 ? '' : 's'} for ${count} sub-env${count === 1 ? '' : 's'}`);
    return raw;
  }
  if (!isBase64Batch(raw)) {
    throw new ActionError('actions must be a list with one action per sub-env, or {"dtype", "shape", "data"} with the base64 of an array');
  }
  const layout = layoutOf(space);
  if (layout === null) throw new ActionError('this action space takes actions as a JSON list only');
  const { dtype, shape, data } = raw;
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new ActionError(`dtype ${JSON.stringify(dtype)} is not one of ${DTYPES.join(', ')}`);
  }
  const integerSpace = !(space instanceof Box) || layout.dtype === 'int64' || layout.dtype === 'uint8';
  if (integerSpace && !INTEGER_DTYPES.includes(dtype as Dtype)) {
    throw new ActionError(`dtype ${dtype} cannot hold this space's integer actions: send int64, int32 or uint8`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ActionError('shape must be a list of non-negative integers');
  const expected = [count, ...layout.shape];
  const elements = shape.reduce((a: number, b: number) => a * b, 1);
  if (shape[0] !== count || elements !== count * layout.size) {
    throw new ActionError(`shape [${shape.join(', ')}] does not fit ${count} actions of shape [${layout.shape.join(', ')}]: send [${expected.join(', ')}]`);
  }
  if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) throw new ActionError('data is not base64');
  const bytes = Buffer.from(data, 'base64');
  const itemBytes = ITEM_BYTES[dtype as Dtype];
  if (bytes.length !== elements * itemBytes) {
    throw new ActionError(`data holds ${bytes.length} bytes; shape [${shape.join(', ')}] of ${dtype} needs ${elements * itemBytes}`);
  }
  const read = reader(dtype as Dtype, bytes);
  const out = new Array<unknown>(count);
  if (layout.scalar) {
    for (let i = 0; i < count; i++) out[i] = read(i);
  } else {
    for (let i = 0; i < count; i++) {
      const v = new Array<number>(layout.size);
      for (let k = 0; k < layout.size; k++) v[k] = read(i * layout.size + k);
      out[i] = v;
    }
  }
  return out;
}
