// numpy.random.Generator(PCG64) — the subset Gymnasium's environments and spaces use.

import { randomBytes } from 'node:crypto';
import { PCG64, type PCG64Snapshot } from './pcg64.js';

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** PCG64Snapshot plus the seed the generator was created from (decimal string), if known. */
export interface NpRandomSnapshot extends PCG64Snapshot {
  seed: string | null;
}

/** Validates a seed the way gymnasium.utils.seeding.np_random does (ints >= 0 only). */
function toSeed(seed: bigint | number): bigint {
  if (typeof seed === 'number') {
    if (!Number.isInteger(seed)) {
      throw new RangeError(`Seed must be an integer, actual value: ${seed}`);
    }
    if (seed < 0) throw new RangeError(`Seed must be greater or equal to zero, actual value: ${seed}`);
    // A larger double has already lost digits; silently seeding with it would not match Python.
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Seed ${seed} is beyond 2^53 - 1 and cannot be exact as a number; pass a bigint`);
    }
    return BigInt(seed);
  }
  if (typeof seed === 'bigint') {
    if (seed < 0n) throw new RangeError(`Seed must be greater or equal to zero, actual value: ${seed}`);
    return seed;
  }
  throw new TypeError(`Seed must be an integer, actual type: ${typeof seed}`);
}

export class NpRandom {
  /** The seed this generator was created from (fromEntropy draws and keeps one); null if unknown. */
  readonly seed: bigint | null;
  readonly bitGenerator: PCG64;

  constructor(bitGenerator: PCG64, seed: bigint | null = null) {
    this.bitGenerator = bitGenerator;
    this.seed = seed;
  }

  /** np.random.default_rng(seed); rejects negative and non-integer seeds with a RangeError. */
  static fromSeed(seed: bigint | number): NpRandom {
    const s = toSeed(seed);
    return new NpRandom(PCG64.fromSeed(s), s);
  }

  /**
   * How many generators this thread has seeded from the OS. A session that drew one is snapshotted
   * right away: replaying its requests later would draw a different one.
   */
  static entropyDraws = 0;

  /** Like SeedSequence(None): a fresh 128-bit seed from the OS, kept in `seed` so it can be reported. */
  static fromEntropy(): NpRandom {
    NpRandom.entropyDraws++;
    const s = BigInt('0x' + randomBytes(16).toString('hex'));
    return NpRandom.fromSeed(s);
  }

  static fromSnapshot(snap: NpRandomSnapshot): NpRandom {
    return new NpRandom(PCG64.fromSnapshot(snap), snap.seed === null ? null : BigInt(snap.seed));
  }

  snapshot(): NpRandomSnapshot {
    return { ...this.bitGenerator.snapshot(), seed: this.seed === null ? null : this.seed.toString() };
  }

  /** Restores the stream position (and buffer) from a snapshot; `seed` stays as it is. */
  restore(snap: PCG64Snapshot): void {
    this.bitGenerator.restore(snap);
  }

  clone(): NpRandom {
    return new NpRandom(this.bitGenerator.clone(), this.seed);
  }

  /** Generator.random(): a double in [0, 1) from one 64-bit output. */
  random(): number {
    return this.bitGenerator.nextDouble();
  }

  /** Generator.uniform(low, high) = low + (high - low) * random(). */
  uniform(low: number, high: number): number {
    const range = high - low;
    if (!Number.isFinite(range)) throw new RangeError('uniform: range exceeds valid bounds');
    return low + range * this.bitGenerator.nextDouble();
  }

  /** Generator.integers(n) (= integers(0, n)): 0 <= x < n, drawing exactly as NumPy does. */
  integers(n: number): number {
    if (!(n >= 1 && n <= TWO_53 && Number.isInteger(n))) {
      throw new RangeError(`integers: n must be an integer in [1, 2^53], got ${n}`);
    }
    if (n === 1) return 0; // NumPy draws nothing for an empty range.
    if (n < TWO_32) return this.lemire32(n);
    if (n === TWO_32) return this.bitGenerator.nextUint32();
    return this.lemire64(n);
  }

  /** Generator.choice(items) without weights = items[integers(len)]. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('choice: items cannot be empty');
    return items[this.integers(items.length)];
  }

  /**
   * Lemire's bounded draw on buffered 32-bit outputs. m = x*n is up to 64 bits, so
   * it is formed from two exact 16x32-bit products instead of one inexact double product.
   */
  private lemire32(n: number): number {
    const bg = this.bitGenerator;
    let x = bg.nextUint32();
    let low = Math.imul(x, n) >>> 0;
    if (low < n) {
      const threshold = (TWO_32 - n) % n;
      while (low < threshold) {
        x = bg.nextUint32();
        low = Math.imul(x, n) >>> 0;
      }
    }
    // floor(x*n / 2^32) = floor((xh*n + floor(xl*n / 2^16)) / 2^16), all terms < 2^49.
    const a = (x >>> 16) * n;
    const b = (x & 0xffff) * n;
    return Math.floor((a + Math.floor(b / 65536)) / 65536);
  }

  /** Lemire on full 64-bit outputs (n > 2^32; the 32-bit buffer is left alone, as in NumPy). */
  private lemire64(n: number): number {
    const bg = this.bitGenerator;
    // n as 16-bit limbs (n <= 2^53, so divisions by powers of two are exact).
    const n0 = n % 65536;
    const n1 = Math.floor(n / 65536) % 65536;
    const n2 = Math.floor(n / TWO_32) % 65536;
    const n3 = Math.floor(n / 281474976710656);
    let threshold = -1; // computed only when needed, as NumPy does
    for (;;) {
      bg.draw64();
      const x0 = bg.lo & 0xffff, x1 = bg.lo >>> 16, x2 = bg.hi & 0xffff, x3 = bg.hi >>> 16;
      // 128-bit product x*n on 16-bit limbs; column sums < 2^35.
      let t = x0 * n0;
      const p0 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x0 * n1 + x1 * n0;
      const p1 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x0 * n2 + x1 * n1 + x2 * n0;
      const p2 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x0 * n3 + x1 * n2 + x2 * n1 + x3 * n0;
      const p3 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x1 * n3 + x2 * n2 + x3 * n1;
      const p4 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x2 * n3 + x3 * n2;
      const p5 = t & 0xffff;
      t = (t / 65536) | 0;
      t += x3 * n3;
      const p6 = t & 0xffff;
      const p7 = (t / 65536) | 0;
      // Rounding is monotonic and n and threshold are exact, so comparing the
      // (possibly rounded) double of the low 64 bits against them is exact.
      const low = ((p3 * 65536 + p2) * 65536 + p1) * 65536 + p0;
      if (low < n) {
        if (threshold < 0) threshold = pow2_64ModN(n);
        if (low < threshold) continue;
      }
      return ((p7 * 65536 + p6) * 65536 + p5) * 65536 + p4;
    }
  }
}

/** (2^64 - n) mod n = 2^64 mod n for 2^32 < n <= 2^53, by doubling 2^32 (every value stays exact). */
function pow2_64ModN(n: number): number {
  let r = TWO_32; // 2^32 mod n, since n > 2^32
  for (let i = 0; i < 32; i++) {
    r *= 2;
    if (r >= n) r -= n;
  }
  return r;
}

/**
 * Gymnasium's categorical_sample: the first i with cumsum(probs)[i] > random(), the
 * cumulative sum taken left to right in float64; 0 if no entry is greater.
 */
export function categoricalSample(probs: readonly number[], rng: NpRandom): number {
  const r = rng.random();
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i];
    if (acc > r) return i;
  }
  return 0;
}
