// writePyFloat's exact path for float32 values against pyFloat (the reference: V8's shortest digits),
// and the JSON batch of float observations it writes against joining Box.encode.
import { describe, expect, it } from 'vitest';
import { NonFiniteNumberError, pyFloat, writePyFloat, PY_FLOAT_MAX_BYTES } from '../src/json/pyjson.js';
import { Box } from '../src/spaces/index.js';
import { encodeFlags, encodeFloats, encodeValues } from '../src/vector/batch.js';

const out = Buffer.alloc(64);
const written = (x: number) => out.toString('latin1', 0, writePyFloat(x, out, 0));

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);
const float32OfBits = (bits: number) => ((f32Bits[0] = bits >>> 0), f32[0]);

/** A seeded stream (xorshift32), so a failure names a value that comes again. */
function randomBits(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** The values among `values` that writePyFloat writes differently from pyFloat (at most 5). */
function mismatches(values: Iterable<number>): { x: number; written: string; reference: string }[] {
  const bad: { x: number; written: string; reference: string }[] = [];
  for (const x of values) {
    const end = writePyFloat(x, out, 0);
    const reference = pyFloat(x);
    let same = end === reference.length;
    for (let i = 0; same && i < end; i++) same = out[i] === reference.charCodeAt(i);
    if (!same && bad.push({ x, written: out.toString('latin1', 0, end), reference }) >= 5) break;
  }
  return bad;
}

function* randomFloat32s(count: number, seed: number, bits: (next: () => number) => number): Generator<number> {
  const next = randomBits(seed);
  for (let i = 0; i < count; i++) {
    const x = float32OfBits(bits(next));
    if (Number.isFinite(x)) yield x;
  }
}

describe('writePyFloat', () => {
  it('writes what pyFloat writes for 2,000,000 float32 values in its exact path (2^-13 to 2^23, both signs)', () => {
    // Biased exponents 114 to 149, any mantissa, any sign.
    const values = randomFloat32s(2_000_000, 7, (next) => (next() & 0x80000000) | ((114 + (next() % 36)) << 23) | (next() & 0x7fffff));
    expect(mismatches(values)).toEqual([]);
  });

  it('writes what pyFloat writes for 1,000,000 float32 bit patterns over the whole range', () => {
    expect(mismatches(randomFloat32s(1_000_000, 11, (next) => next()))).toEqual([]);
  });

  it('writes what pyFloat writes for observation-like values, doubles that are not float32, and the edges', () => {
    const next = randomBits(3);
    const observations = Array.from({ length: 200_000 }, () => Math.fround(((next() / 2 ** 32) * 2 - 1) * 10 ** ((next() % 8) - 4)));
    const doubles = Array.from({ length: 100_000 }, () => ((next() / 2 ** 32) * 2 - 1) * 10 ** ((next() % 40) - 20));
    const edges: number[] = [0, -0, 1, -1, 0.5, 0.375, 1.25, 1e-4, 1e-5, 1e16, 1e21, 1e-7, 123456789, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE];
    for (let k = -20; k <= 24; k++) {
      // Powers of two (the narrower interval below them) and their float32 neighbours.
      const p = 2 ** k;
      edges.push(p, Math.fround(p * (1 + 2 ** -23)), Math.fround(p * (1 - 2 ** -24)));
    }
    for (let k = -6; k <= 8; k++) {
      // Powers of ten and the float32 values on either side (where the decimal exponent changes).
      const t = Number(`1e${k}`);
      const below = Math.fround(t) < t ? Math.fround(t) : float32OfBits(((f32[0] = t), f32Bits[0]) - 1);
      edges.push(Math.fround(t), below, float32OfBits(((f32[0] = below), f32Bits[0]) + 1), float32OfBits(((f32[0] = below), f32Bits[0]) + 2));
    }
    for (const x of [0.1, 0.2, 0.3, 0.7, 3.14159, 2.4, 0.2095, 8388607.5, 4194303.75]) edges.push(Math.fround(x), x);
    const all = [...observations, ...doubles, ...edges];
    expect(mismatches([...all, ...all.map((x) => -x)])).toEqual([]);
    // What Python prints for float(numpy.float32(x)):
    expect(written(Math.fround(0.1))).toBe('0.10000000149011612');
    expect(written(-Math.fround(2.4))).toBe('-2.4000000953674316');
    expect(written(Math.fround(1.5e-5))).toBe('1.4999999621068127e-05');
    expect(written(0.5)).toBe('0.5');
    expect(written(2)).toBe('2.0');
  });

  it('never writes more than PY_FLOAT_MAX_BYTES, and refuses what JSON cannot carry', () => {
    for (const x of [-Number.MIN_VALUE, -Number.MAX_VALUE, -1.2345678901234567e-100, -Math.fround(1.17e-38), -Math.fround(1e-7)]) {
      expect(writePyFloat(x, out, 0)).toBeLessThanOrEqual(PY_FLOAT_MAX_BYTES);
    }
    for (const x of [NaN, Infinity, -Infinity]) expect(() => writePyFloat(x, out, 0)).toThrow(NonFiniteNumberError);
  });
});

describe('JSON batches', () => {
  const reference = (space: Box, values: number[][]) => '[' + values.map((v) => space.encode(v)).join(', ') + ']';

  it('is the join of Box.encode, for float32 and float64 boxes, small batches and ones over the kept buffer', () => {
    const next = randomBits(5);
    const value = (cast: (x: number) => number, size: number) =>
      Array.from({ length: size }, (_, k) => (k === 3 ? (next() % 7) - 3 : cast(((next() / 2 ** 32) * 2 - 1) * 10 ** ((next() % 30) - 12))));
    for (const dtype of ['float32', 'float64'] as const) {
      const space = new Box(-Infinity, Infinity, [4], dtype);
      for (const n of [1, 3, 4096, 20_000]) {
        const values = Array.from({ length: n }, () => value(space.cast, 4));
        expect(encodeValues(space, values, 'json')).toBe(reference(space, values));
      }
    }
    const empty = new Box(-1, 1, [0], 'float32');
    expect(encodeValues(empty, [[], []], 'json')).toBe('[[], []]');
  });

  it('of rewards and flags are the joins of pyFloat and of true/false', () => {
    const next = randomBits(9);
    for (const n of [0, 1, 5, 4096, 50_000]) {
      const rewards = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? (next() % 5) - 2 : i % 3 === 1 ? Math.fround(next() / 2 ** 28) : -(next() / 2 ** 20) * 1e-9));
      expect(encodeFloats(rewards, 'json')).toBe('[' + Array.from(rewards, pyFloat).join(', ') + ']');
      const flags = Uint8Array.from({ length: n }, () => next() & 1);
      expect(encodeFlags(flags, 'json')).toBe('[' + Array.from(flags, (f) => (f ? 'true' : 'false')).join(', ') + ']');
    }
  });
});
