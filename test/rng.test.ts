import { describe, it, expect } from 'vitest';
import { goldenText } from './golden.js';
import { randomBytes } from 'node:crypto';
import {
  NpRandom,
  PCG64,
  categoricalSample,
  generateState,
  seedSequencePool,
  type NpRandomSnapshot,
} from '../src/rng/index.js';

interface FixtureState {
  bit_generator: string;
  state: string;
  state_hex: string;
  inc: string;
  inc_hex: string;
  has_uint32: number;
  uinteger: number;
}

interface FixtureSeed {
  seed: number;
  seed_sequence: {
    entropy: number;
    pool: number[];
    'generate_state(4, uint32)': number[];
    'generate_state(8, uint32)': number[];
    'generate_state(4, uint64)': string[];
  };
  pcg64_state_after_seeding: FixtureState;
  random_raw_first_10: string[];
  pcg64_state_after_10_random_raw: FixtureState;
  default_rng_sequences: Record<string, { first_10: number[]; pcg64_state_after: FixtureState }>;
  gymnasium_seeding_np_random: {
    returned_seed: number;
    generator_class: string;
    bit_generator_class: string;
    pcg64_state_after_seeding: FixtureState;
    'random()_first_10': number[];
    identical_to_default_rng: boolean;
  };
  mixed_sequence_one_generator: {
    call: string;
    result: unknown;
    result_type: string;
    pcg64_state_after: FixtureState;
  }[];
}

interface Fixture {
  seeds: FixtureSeed[];
  seeding_np_random_rejections: { seed: number; error: string }[];
}

const fixture = JSON.parse(goldenText('numpy_rng.json')) as Fixture;

function expectState(g: PCG64 | NpRandom, want: FixtureState): void {
  const bg = g instanceof NpRandom ? g.bitGenerator : g;
  const st = bg.getState();
  expect(want.bit_generator).toBe('PCG64');
  expect(st.state).toBe(BigInt(want.state));
  expect(st.state).toBe(BigInt(want.state_hex));
  expect(st.inc).toBe(BigInt(want.inc));
  expect(st.inc).toBe(BigInt(want.inc_hex));
  expect(st.hasUint32).toBe(want.has_uint32 === 1);
  expect(st.uinteger).toBe(want.uinteger);
}

/** Fresh-generator sequences in default_rng_sequences: one draw each. */
const singleDraws: Record<string, (r: NpRandom) => number> = {
  'random()': (r) => r.random(),
  'integers(0, 2)': (r) => r.integers(2),
  'integers(0, 6)': (r) => r.integers(6),
  'uniform(-0.05, 0.05)': (r) => r.uniform(-0.05, 0.05),
};

/** The calls of mixed_sequence_one_generator, spelled as NumPy/Gymnasium make them. */
const mixedCalls: Record<string, (r: NpRandom) => unknown> = {
  'integers(0, 2)': (r) => r.integers(2),
  'random()': (r) => r.random(),
  'integers(0, 6)': (r) => r.integers(6),
  'uniform(-0.05, 0.05, size=(4,))': (r) => [0, 1, 2, 3].map(() => r.uniform(-0.05, 0.05)),
  'choice([1,2,3,4,5,6,7,8,9,10,10,10,10])': (r) => r.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10]),
  "choice(['C','D','H','S'])": (r) => r.choice(['C', 'D', 'H', 'S']),
  'integers(500)': (r) => r.integers(500),
  // Array bounds: element-wise, in order.
  'uniform(low=[-pi, -1.0], high=[pi, 1.0])': (r) => [r.uniform(-Math.PI, Math.PI), r.uniform(-1, 1)],
  'integers(2147483647, size=3)': (r) => [0, 1, 2].map(() => r.integers(2147483647)),
  'uniform(-0.1, 0.1, size=(4,)).astype(float32)': (r) =>
    [0, 1, 2, 3].map(() => Math.fround(r.uniform(-0.1, 0.1))),
  'uniform(-0.6, -0.4)': (r) => r.uniform(-0.6, -0.4),
  'choice([0, 1, 3])': (r) => r.choice([0, 1, 3]),
  'integers(0, 4294967296)': (r) => r.integers(4294967296),
  'integers(0, 2**40)': (r) => r.integers(2 ** 40),
};

describe('numpy_rng.json fixture', () => {
  it('has the shape this test understands', () => {
    expect(fixture.seeds.length).toBeGreaterThan(0);
    for (const s of fixture.seeds) {
      expect(Object.keys(s).sort()).toEqual(
        [
          'default_rng_sequences',
          'gymnasium_seeding_np_random',
          'mixed_sequence_one_generator',
          'pcg64_state_after_10_random_raw',
          'pcg64_state_after_seeding',
          'random_raw_first_10',
          'seed',
          'seed_sequence',
        ].sort(),
      );
      for (const k of Object.keys(s.default_rng_sequences)) expect(singleDraws).toHaveProperty([k]);
      for (const m of s.mixed_sequence_one_generator) expect(mixedCalls).toHaveProperty([m.call]);
    }
  });
});

describe.each(fixture.seeds.map((s) => [s.seed, s] as const))('seed %s', (_seed, fx) => {
  const seed = BigInt(fx.seed);

  it('SeedSequence pool and generate_state', () => {
    expect(fx.seed_sequence.entropy).toBe(fx.seed);
    const pool = seedSequencePool(seed);
    expect(Array.from(pool)).toEqual(fx.seed_sequence.pool);
    expect(Array.from(generateState(pool, 4))).toEqual(fx.seed_sequence['generate_state(4, uint32)']);
    const w8 = generateState(pool, 8);
    expect(Array.from(w8)).toEqual(fx.seed_sequence['generate_state(8, uint32)']);
    const u64 = [0, 1, 2, 3].map((i) => (BigInt(w8[2 * i + 1]) << 32n) | BigInt(w8[2 * i]));
    expect(u64).toEqual(fx.seed_sequence['generate_state(4, uint64)'].map(BigInt));
  });

  it('PCG64 state after seeding, first raw outputs, state after them', () => {
    const g = PCG64.fromSeed(seed);
    expectState(g, fx.pcg64_state_after_seeding);
    const raw = Array.from({ length: fx.random_raw_first_10.length }, () => g.nextUint64());
    expect(raw).toEqual(fx.random_raw_first_10.map(BigInt));
    expectState(g, fx.pcg64_state_after_10_random_raw);
  });

  it('default_rng sequences (fresh generator each)', () => {
    for (const [call, seq] of Object.entries(fx.default_rng_sequences)) {
      const r = NpRandom.fromSeed(seed);
      const got = seq.first_10.map(() => singleDraws[call](r));
      expect(got, call).toEqual(seq.first_10);
      expectState(r, seq.pcg64_state_after);
    }
  });

  it('gymnasium seeding.np_random', () => {
    const g = fx.gymnasium_seeding_np_random;
    const r = NpRandom.fromSeed(fx.seed);
    expect(r.seed).toBe(BigInt(g.returned_seed));
    expectState(r, g.pcg64_state_after_seeding);
    expect(g['random()_first_10'].map(() => r.random())).toEqual(g['random()_first_10']);
    expect(g.identical_to_default_rng).toBe(true);
  });

  it('mixed call sequence on one generator, state after each call', () => {
    const r = NpRandom.fromSeed(seed);
    for (const [i, m] of fx.mixed_sequence_one_generator.entries()) {
      const got = mixedCalls[m.call](r);
      expect(got, `call ${i}: ${m.call}`).toEqual(m.result);
      expectState(r, m.pcg64_state_after);
    }
  });
});

describe('seed validation', () => {
  it.each(fixture.seeding_np_random_rejections.map((x) => [x.seed, x.error] as const))(
    'rejects %s like Gymnasium',
    (seed, error) => {
      expect(() => NpRandom.fromSeed(seed)).toThrow(RangeError);
      if (error.includes('greater or equal to zero')) {
        expect(() => NpRandom.fromSeed(seed)).toThrow(/greater or equal to zero/);
      }
    },
  );

  it('rejects negative bigints, NaN, infinities and unsafe numbers', () => {
    expect(() => NpRandom.fromSeed(-1n)).toThrow(RangeError);
    expect(() => NpRandom.fromSeed(NaN)).toThrow(RangeError);
    expect(() => NpRandom.fromSeed(Infinity)).toThrow(RangeError);
    expect(() => NpRandom.fromSeed(2 ** 60)).toThrow(RangeError);
  });

  it('number and bigint seeds agree', () => {
    expect(NpRandom.fromSeed(42).snapshot()).toEqual(NpRandom.fromSeed(42n).snapshot());
  });
});

// ---- BigInt reference (straight from the algorithm description) to cross-check the limb code ----

const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const MULT = 0x2360ed051fc65da44385df649fccf645n;

class RefPCG {
  hasUint32 = false;
  uinteger = 0n;
  rejections = 0;
  constructor(
    public state: bigint,
    public inc: bigint,
  ) {}
  next64(): bigint {
    this.state = (this.state * MULT + this.inc) & MASK128;
    const hi = this.state >> 64n;
    const x = (hi ^ this.state) & MASK64;
    const rot = hi >> 58n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & MASK64;
  }
  next32(): bigint {
    if (this.hasUint32) {
      this.hasUint32 = false;
      return this.uinteger;
    }
    const v = this.next64();
    this.hasUint32 = true;
    this.uinteger = v >> 32n;
    return v & 0xffffffffn;
  }
  integers(n: bigint): bigint {
    if (n === 1n) return 0n;
    const bits = n <= 1n << 32n ? 32n : 64n;
    if (n === 1n << bits) return bits === 32n ? this.next32() : this.next64();
    const mod = 1n << bits;
    const draw = () => (bits === 32n ? this.next32() : this.next64());
    let m = draw() * n;
    if ((m & (mod - 1n)) < n) {
      const threshold = (mod - n) % n;
      while ((m & (mod - 1n)) < threshold) {
        this.rejections++;
        m = draw() * n;
      }
    }
    return m >> bits;
  }
}

function randomBig(bytes: number): bigint {
  return BigInt('0x' + randomBytes(bytes).toString('hex'));
}

describe('cross-check against a BigInt reference', () => {
  it('128-bit step and XSL-RR output from random states', () => {
    for (let trial = 0; trial < 200; trial++) {
      const state = randomBig(16);
      const inc = randomBig(16) | 1n;
      const g = PCG64.fromState({ state, inc, hasUint32: false, uinteger: 0 });
      const ref = new RefPCG(state, inc);
      for (let i = 0; i < 50; i++) expect(g.nextUint64()).toBe(ref.next64());
      expect(g.getState().state).toBe(ref.state);
    }
    // Edge states: all ones, zero, rotation 0 and 32 exercised by chance above; force carries here.
    for (const state of [0n, MASK128, 1n << 127n, (1n << 64n) - 1n]) {
      const g = PCG64.fromState({ state, inc: MASK128, hasUint32: false, uinteger: 0 });
      const ref = new RefPCG(state, MASK128);
      for (let i = 0; i < 20; i++) expect(g.nextUint64()).toBe(ref.next64());
    }
  });

  it('integers(n) for 32-bit and 64-bit ranges, including rejection paths', () => {
    const ns = [
      2, 3, 6, 7, 500, 2147483647, 3 * 2 ** 30, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40,
      3 * 2 ** 51, 2 ** 53 - 1, 2 ** 53,
    ];
    for (const n of ns) {
      const r = NpRandom.fromSeed(randomBig(8));
      const st = r.bitGenerator.getState();
      const ref = new RefPCG(st.state, st.inc);
      const draws = n >= 3 * 2 ** 51 ? 20000 : 2000;
      for (let i = 0; i < draws; i++) {
        // Interleave 32- and 64-bit consumers so the buffer is exercised too.
        if (i % 7 === 3) expect(r.random()).toBe(Number(ref.next64() >> 11n) * 2 ** -53);
        expect(r.integers(n), `n=${n} i=${i}`).toBe(Number(ref.integers(BigInt(n))));
      }
      expect(r.bitGenerator.getState().state).toBe(ref.state);
      if (n === 3 * 2 ** 30) expect(ref.rejections).toBeGreaterThan(0);
    }
  });

  it('64-bit rejection branch (threshold = 2^64 mod n) matches', () => {
    // Start from states whose next output makes low64(x*n) tiny, forcing the slow branch.
    const n = 3 * 2 ** 51;
    let found = 0;
    for (let trial = 0; trial < 200000 && found < 30; trial++) {
      const state = randomBig(16);
      const inc = randomBig(16) | 1n;
      const probe = new RefPCG(state, inc);
      const x = probe.next64();
      if (((x * BigInt(n)) & MASK64) >= BigInt(n)) continue;
      found++;
      const g = NpRandom.fromSnapshot({ ...PCG64.fromState({ state, inc, hasUint32: false, uinteger: 0 }).snapshot(), seed: null });
      const ref = new RefPCG(state, inc);
      expect(g.integers(n)).toBe(Number(ref.integers(BigInt(n))));
      expect(g.bitGenerator.getState().state).toBe(ref.state);
    }
    expect(found).toBeGreaterThan(0);
  });
});

describe('NpRandom API', () => {
  it('integers(1) draws nothing; bad n and empty choice throw', () => {
    const r = NpRandom.fromSeed(0);
    const before = r.snapshot();
    expect(r.integers(1)).toBe(0);
    expect(r.snapshot()).toEqual(before);
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53 + 2]) expect(() => r.integers(bad)).toThrow(RangeError);
    expect(() => r.choice([])).toThrow(RangeError);
  });

  it('uniform rejects a non-finite range', () => {
    const r = NpRandom.fromSeed(0);
    expect(() => r.uniform(-Infinity, 0)).toThrow(RangeError);
    expect(() => r.uniform(-Number.MAX_VALUE, Number.MAX_VALUE)).toThrow(RangeError);
  });

  it('snapshot/restore and clone continue the same stream, buffer included', () => {
    const r = NpRandom.fromSeed(123456789);
    r.integers(6); // leaves a buffered high half
    expect(r.bitGenerator.getState().hasUint32).toBe(true);
    const snap: NpRandomSnapshot = structuredClone(r.snapshot());
    const viaJson = JSON.parse(JSON.stringify(r.snapshot())) as NpRandomSnapshot;
    expect(snap.seed).toBe('123456789');
    const c = r.clone();
    const seq = (g: NpRandom) => [g.integers(6), g.random(), g.integers(2), g.integers(2), g.uniform(-1, 1)];
    const want = seq(r);
    expect(seq(c)).toEqual(want);
    expect(seq(NpRandom.fromSnapshot(snap))).toEqual(want);
    const other = NpRandom.fromSeed(1);
    other.restore(viaJson);
    expect(seq(other)).toEqual(want);
    expect(other.seed).toBe(1n); // restore moves the stream, not the recorded seed
    expect(() => other.restore({ ...viaJson, inc: viaJson.inc.slice(0, 31) + '2' })).toThrow(RangeError);
    expect(() => other.restore({ ...viaJson, state: 'xyz' })).toThrow(RangeError);
  });

  it('fromEntropy keeps a reproducible 128-bit seed', () => {
    const a = NpRandom.fromEntropy();
    const b = NpRandom.fromEntropy();
    expect(a.seed).not.toBeNull();
    expect(a.seed).not.toBe(b.seed);
    expect(a.seed! < 1n << 128n).toBe(true);
    const again = NpRandom.fromSeed(a.seed!);
    expect([again.random(), again.integers(6)]).toEqual([a.random(), a.integers(6)]);
  });

  it('seeds beyond 2^128 (entropy longer than the pool) are accepted and distinct', () => {
    const big = (1n << 200n) + 5n;
    expect(NpRandom.fromSeed(big).random()).not.toBe(NpRandom.fromSeed(5n).random());
  });

  it('categoricalSample: first cumulative sum above random(), 0 if none', () => {
    // seed 0's first random() is 0.6369616873214543 (fixture).
    const first = fixture.seeds.find((s) => s.seed === 0)!.gymnasium_seeding_np_random['random()_first_10'][0];
    expect(first).toBe(0.6369616873214543);
    expect(categoricalSample([0.5, 0.5], NpRandom.fromSeed(0))).toBe(1);
    expect(categoricalSample([0.6369616873214543, 0.5], NpRandom.fromSeed(0))).toBe(1); // strict >
    expect(categoricalSample([0.7, 0.3], NpRandom.fromSeed(0))).toBe(0);
    expect(categoricalSample([0.3, 0.3], NpRandom.fromSeed(0))).toBe(0); // none greater
    expect(categoricalSample([0.1, 0.1, 0.1, 0.7], NpRandom.fromSeed(0))).toBe(3);
  });
});

describe('speed (informational)', () => {
  it('prints draws per second', () => {
    const r = NpRandom.fromSeed(0);
    const time = (label: string, f: () => number) => {
      let sink = 0;
      for (let i = 0; i < 200000; i++) sink += f(); // warm up
      const n = 2000000;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) sink += f();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`${label}: ${(n / secs / 1e6).toFixed(1)} M draws/s (${((secs / n) * 1e9).toFixed(1)} ns/draw)`);
      return sink;
    };
    expect(Number.isFinite(time('random()', () => r.random()))).toBe(true);
    expect(Number.isFinite(time('integers(2)', () => r.integers(2)))).toBe(true);
  });
});
