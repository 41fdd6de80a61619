/** A seeded PRNG for the fuzzer and the soak, so a failing run can be replayed with the seed it prints. */

/** sfc32: small, fast, good enough for fuzzing, and reproducible from a 32-bit seed. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream = 0) {
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = (stream * 0x85ebca6b) >>> 0;
    this.#d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  /** A random number of decimal digits (no leading zero unless "0"). */
  digits(n: number): string {
    let s = String(1 + this.int(9));
    for (let i = 1; i < n; i++) s += String(this.int(10));
    return s;
  }
}

/** The seed to use: --seed / FUZZ_SEED when given, else a fresh one (to be printed). */
export function chooseSeed(given?: string | number | null): number {
  if (given !== undefined && given !== null && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n)) throw new Error(`the seed must be an integer, got ${given}`);
    return n >>> 0;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}
