// NumPy's PCG64 bit generator (PCG XSL-RR 128/64 with a 32-bit output buffer).
//
// The 128-bit state and increment are held as eight 16-bit limbs in plain numbers:
// each partial product is < 2^32 and a column sum stays < 2^36, so every value is
// an exact double and a step needs no BigInt or allocation. BigInt is only used at
// the edges (seeding, getState) where speed does not matter.

import { generateState64, seedSequencePool } from './seed-sequence.js';

// Multiplier 0x2360ED051FC65DA44385DF649FCCF645, least significant limb first.
const M0 = 0xf645;
const M1 = 0x9fcc;
const M2 = 0xdf64;
const M3 = 0x4385;
const M4 = 0x5da4;
const M5 = 0x1fc6;
const M6 = 0xed05;
const M7 = 0x2360;

const MASK128 = (1n << 128n) - 1n;
const HEX32 = /^[0-9a-f]{32}$/;

/** Plain-data generator state; structured-cloneable (numbers and strings only). */
export interface PCG64Snapshot {
  /** 128-bit state, 32 lowercase hex digits. */
  state: string;
  /** 128-bit increment (odd), 32 lowercase hex digits. */
  inc: string;
  /** 1 if the high half of the last 64-bit output is buffered for the next 32-bit draw. */
  hasUint32: number;
  uinteger: number;
}

export interface PCG64State {
  state: bigint;
  inc: bigint;
  hasUint32: boolean;
  uinteger: number;
}

function limbsOf(v: bigint): number[] {
  const out: number[] = [];
  for (let k = 0; k < 8; k++) out.push(Number((v >> BigInt(16 * k)) & 0xffffn));
  return out;
}

function hexToLimbs(hex: string, what: string): number[] {
  if (!HEX32.test(hex)) throw new RangeError(`PCG64 snapshot: ${what} must be 32 lowercase hex digits`);
  const out: number[] = [];
  for (let k = 0; k < 8; k++) out.push(parseInt(hex.slice(28 - 4 * k, 32 - 4 * k), 16));
  return out;
}

function limbsToHex(l: readonly number[]): string {
  let s = '';
  for (let k = 7; k >= 0; k--) s += l[k].toString(16).padStart(4, '0');
  return s;
}

export class PCG64 {
  // State limbs, s0 least significant.
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;
  private s4 = 0; private s5 = 0; private s6 = 0; private s7 = 0;
  // Increment limbs.
  private i0 = 1; private i1 = 0; private i2 = 0; private i3 = 0;
  private i4 = 0; private i5 = 0; private i6 = 0; private i7 = 0;

  /** NumPy's has_uint32 / uinteger: high half of a 64-bit output saved for the next nextUint32(). */
  private hasUint32 = false;
  private uinteger = 0;

  /** High / low 32 bits (unsigned) of the latest draw64() output. */
  hi = 0;
  lo = 0;

  private constructor() {}

  /** np.random.PCG64(np.random.SeedSequence(seed)). */
  static fromSeed(seed: bigint): PCG64 {
    const [u0, u1, u2, u3] = generateState64(seedSequencePool(seed), 4);
    return PCG64.fromInitState((u0 << 64n) | u1, (u2 << 64n) | u3);
  }

  /** PCG's srandom: inc = initseq<<1 | 1, state = 0, step, state += initstate, step. */
  static fromInitState(initstate: bigint, initseq: bigint): PCG64 {
    const g = new PCG64();
    g.setLimbs(0n, ((initseq << 1n) | 1n) & MASK128);
    g.step();
    g.setLimbs((g.stateBig() + initstate) & MASK128, g.incBig());
    g.step();
    return g;
  }

  /** A generator at an exact state (inc is used as given, like NumPy's state setter). */
  static fromState(s: PCG64State): PCG64 {
    const g = new PCG64();
    g.setLimbs(s.state & MASK128, s.inc & MASK128);
    g.hasUint32 = s.hasUint32;
    g.uinteger = s.uinteger >>> 0;
    return g;
  }

  /** Advance one step and leave the 64-bit output in `hi` / `lo`. */
  draw64(): void {
    this.step();
    const s7 = this.s7;
    // XSL-RR: rotr64(hi64 ^ lo64, hi64 >>> 58), done on two 32-bit halves.
    const xh = ((s7 << 16) | this.s6) ^ ((this.s3 << 16) | this.s2);
    const xl = ((this.s5 << 16) | this.s4) ^ ((this.s1 << 16) | this.s0);
    const rot = s7 >>> 10;
    // JS shifts are mod 32, so rotations by 0 and 32 need their own branches.
    if (rot === 0) {
      this.hi = xh >>> 0;
      this.lo = xl >>> 0;
    } else if (rot < 32) {
      this.hi = ((xh >>> rot) | (xl << (32 - rot))) >>> 0;
      this.lo = ((xl >>> rot) | (xh << (32 - rot))) >>> 0;
    } else if (rot === 32) {
      this.hi = xl >>> 0;
      this.lo = xh >>> 0;
    } else {
      const r = rot - 32;
      this.hi = ((xl >>> r) | (xh << (32 - r))) >>> 0;
      this.lo = ((xh >>> r) | (xl << (32 - r))) >>> 0;
    }
  }

  /** NumPy's next_uint64 as a bigint (tests / debugging; allocates). */
  nextUint64(): bigint {
    this.draw64();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** NumPy's next_uint32: low half of a fresh 64-bit output, high half buffered for the next call. */
  nextUint32(): number {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    this.draw64();
    this.hasUint32 = true;
    this.uinteger = this.hi;
    return this.lo;
  }

  /** NumPy's next_double: (next64 >> 11) * 2^-53; does not touch the 32-bit buffer. */
  nextDouble(): number {
    this.draw64();
    // hi * 2^21 + (lo >>> 11) < 2^53, so this is exact.
    return (this.hi * 2097152 + (this.lo >>> 11)) * 1.1102230246251565e-16;
  }

  getState(): PCG64State {
    return { state: this.stateBig(), inc: this.incBig(), hasUint32: this.hasUint32, uinteger: this.uinteger };
  }

  clone(): PCG64 {
    const g = new PCG64();
    g.copyFrom(this);
    return g;
  }

  snapshot(): PCG64Snapshot {
    return {
      state: limbsToHex(this.stateLimbs()),
      inc: limbsToHex(this.incLimbs()),
      hasUint32: this.hasUint32 ? 1 : 0,
      uinteger: this.uinteger,
    };
  }

  restore(snap: PCG64Snapshot): void {
    const s = hexToLimbs(snap.state, 'state');
    const i = hexToLimbs(snap.inc, 'inc');
    if ((i[0] & 1) === 0) throw new RangeError('PCG64 snapshot: inc must be odd');
    if (!Number.isInteger(snap.uinteger) || snap.uinteger < 0 || snap.uinteger > 0xffffffff) {
      throw new RangeError('PCG64 snapshot: uinteger must be a uint32');
    }
    [this.s0, this.s1, this.s2, this.s3, this.s4, this.s5, this.s6, this.s7] = s;
    [this.i0, this.i1, this.i2, this.i3, this.i4, this.i5, this.i6, this.i7] = i;
    this.hasUint32 = snap.hasUint32 !== 0;
    this.uinteger = snap.uinteger;
  }

  static fromSnapshot(snap: PCG64Snapshot): PCG64 {
    const g = new PCG64();
    g.restore(snap);
    return g;
  }

  /** state = state * MULT + inc (mod 2^128), schoolbook on 16-bit limbs, columns low to high. */
  private step(): void {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const s4 = this.s4, s5 = this.s5, s6 = this.s6, s7 = this.s7;
    // Column sums are < 2^36: `& 0xffff` is exact (ToInt32 is mod 2^32) and
    // `(t / 65536) | 0` is the exact carry (quotient < 2^31).
    let t = s0 * M0 + this.i0;
    this.s0 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M1 + s1 * M0 + this.i1;
    this.s1 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M2 + s1 * M1 + s2 * M0 + this.i2;
    this.s2 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M3 + s1 * M2 + s2 * M1 + s3 * M0 + this.i3;
    this.s3 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M4 + s1 * M3 + s2 * M2 + s3 * M1 + s4 * M0 + this.i4;
    this.s4 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M5 + s1 * M4 + s2 * M3 + s3 * M2 + s4 * M1 + s5 * M0 + this.i5;
    this.s5 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M6 + s1 * M5 + s2 * M4 + s3 * M3 + s4 * M2 + s5 * M1 + s6 * M0 + this.i6;
    this.s6 = t & 0xffff;
    t = (t / 65536) | 0;
    t += s0 * M7 + s1 * M6 + s2 * M5 + s3 * M4 + s4 * M3 + s5 * M2 + s6 * M1 + s7 * M0 + this.i7;
    this.s7 = t & 0xffff;
  }

  private copyFrom(o: PCG64): void {
    this.s0 = o.s0; this.s1 = o.s1; this.s2 = o.s2; this.s3 = o.s3;
    this.s4 = o.s4; this.s5 = o.s5; this.s6 = o.s6; this.s7 = o.s7;
    this.i0 = o.i0; this.i1 = o.i1; this.i2 = o.i2; this.i3 = o.i3;
    this.i4 = o.i4; this.i5 = o.i5; this.i6 = o.i6; this.i7 = o.i7;
    this.hasUint32 = o.hasUint32;
    this.uinteger = o.uinteger;
    this.hi = o.hi;
    this.lo = o.lo;
  }

  private setLimbs(state: bigint, inc: bigint): void {
    [this.s0, this.s1, this.s2, this.s3, this.s4, this.s5, this.s6, this.s7] = limbsOf(state);
    [this.i0, this.i1, this.i2, this.i3, this.i4, this.i5, this.i6, this.i7] = limbsOf(inc);
  }

  private stateLimbs(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.s4, this.s5, this.s6, this.s7];
  }

  private incLimbs(): number[] {
    return [this.i0, this.i1, this.i2, this.i3, this.i4, this.i5, this.i6, this.i7];
  }

  private stateBig(): bigint {
    return BigInt('0x' + limbsToHex(this.stateLimbs()));
  }

  private incBig(): bigint {
    return BigInt('0x' + limbsToHex(this.incLimbs()));
  }
}
