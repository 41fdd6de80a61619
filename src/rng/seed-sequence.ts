// NumPy's SeedSequence, restricted to what Gymnasium uses: a single non-negative
// integer as entropy, no spawn key, pool size 4. All arithmetic is uint32
// (Math.imul + >>> 0), matching NumPy's uint32 wrap-around.

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const XSHIFT = 16;
const POOL_SIZE = 4;

/** Little-endian 32-bit words of a non-negative integer; 0 gives [0] (NumPy's coercion). */
export function entropyWords(seed: bigint): number[] {
  if (seed < 0n) throw new RangeError(`entropy must be non-negative, got ${seed}`);
  if (seed === 0n) return [0];
  const words: number[] = [];
  let v = seed;
  while (v > 0n) {
    words.push(Number(v & 0xffffffffn));
    v >>= 32n;
  }
  return words;
}

function mix(x: number, y: number): number {
  let r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
  r = (r ^ (r >>> XSHIFT)) >>> 0;
  return r;
}

/** The 4-word entropy pool NumPy's SeedSequence(seed) computes. */
export function seedSequencePool(seed: bigint): Uint32Array {
  const entropy = entropyWords(seed);
  // hashmix carries its multiplier state across every call, in call order.
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    let v = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    return (v ^ (v >>> XSHIFT)) >>> 0;
  };

  const pool = new Uint32Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) {
    pool[i] = hashmix(i < entropy.length ? entropy[i] : 0);
  }
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst], hashmix(pool[src]));
    }
  }
  // Entropy beyond the pool size (seeds >= 2^128) is folded into every slot.
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      pool[dst] = mix(pool[dst], hashmix(entropy[src]));
    }
  }
  return pool;
}

/** SeedSequence.generate_state(nWords, uint32). For uint64, take 2n words as little-endian pairs. */
export function generateState(pool: Uint32Array, nWords: number): Uint32Array {
  if (!Number.isInteger(nWords) || nWords < 0) throw new RangeError(`bad word count ${nWords}`);
  const out = new Uint32Array(nWords);
  let hashConst = INIT_B;
  for (let i = 0; i < nWords; i++) {
    let v = (pool[i % pool.length] ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_B) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    out[i] = (v ^ (v >>> XSHIFT)) >>> 0;
  }
  return out;
}

/** generate_state(n, uint64) as bigints (little-endian pairs of uint32 words). */
export function generateState64(pool: Uint32Array, nWords: number): bigint[] {
  const w = generateState(pool, nWords * 2);
  const out: bigint[] = [];
  for (let i = 0; i < nWords; i++) {
    out.push((BigInt(w[2 * i + 1]) << 32n) | BigInt(w[2 * i]));
  }
  return out;
}
