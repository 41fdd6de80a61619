/**
 * A leaf module, below every layer that writes JSON (spaces encode observations, envs mark float
 * values in `info`, the protocol writes replies): it knows numbers and text, not the wire.
 *
 * JSON text as Python's `json.dumps` writes it, which is what gym-tcp-api clients were built against:
 * `", "` and `": "` separators, floats always with a decimal point or exponent (`1.0`, `1e+100`),
 * integers without. JavaScript's JSON.stringify would write `1.0` as `1`, and Python clients check
 * `type(reward) == float`, so every value that Gymnasium returns as a float goes through `pyFloat`.
 */

/**
 * A value JSON cannot carry (NaN, ±Infinity). Python's json writes them as `NaN`/`Infinity`, which
 * most clients' JSON parsers reject, so gym-tcp never writes one: the request that would have
 * carried it gets an ENV_FAILED error reply instead (docs/protocol.md §5.1). Kwargs are bounded so
 * that no env produces one (see MAX_KWARG_MAGNITUDE in src/envs/env.ts); this is the last guard.
 */
export class NonFiniteNumberError extends Error {
  constructor(readonly value: number) {
    super(`the environment produced ${value}, which JSON cannot carry`);
  }
}

/** A number that must be written as a float even when its value is integral. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16 up. */
export function pyFloat(x: number): string {
  if (Number.isInteger(x)) {
    if (Math.abs(x) < 1e16) return Object.is(x, -0) ? '-0.0' : x + '.0';
  } else if (!Number.isFinite(x)) {
    throw new NonFiniteNumberError(x);
  } else {
    const a = Math.abs(x);
    // JavaScript uses plain notation for 1e-7 < |x| < 1e21 with the same shortest digits as Python.
    // JSON.stringify gives String(x) for a finite number, a third faster: it skips V8's number-string
    // cache, which a fresh observation value only misses and fills.
    if (a >= 1e-4 && a < 1e16) return JSON.stringify(x);
  }
  // Exponent form: JS gives "d.ddde+N"/"de-N" with the same digits; Python pads the exponent to 2.
  const [mantissa, exp] = x.toExponential().split('e');
  const sign = exp[0];
  const digits = exp.slice(1);
  return `${mantissa}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

/** Serialises plain data: numbers as ints when integral (wrap floats in PyFloat), like json.dumps. */
export function toPyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? String(value) : pyFloat(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value instanceof PyFloat) return pyFloat(value.value);
      if (Array.isArray(value)) {
        let s = '[';
        for (let i = 0; i < value.length; i++) s += (i ? ', ' : '') + toPyJson(value[i]);
        return s + ']';
      }
      let s = '{';
      let first = true;
      for (const key in value as Record<string, unknown>) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        s += (first ? '' : ', ') + JSON.stringify(key) + ': ' + toPyJson(v);
        first = false;
      }
      return s + '}';
    }
    default:
      throw new TypeError(`cannot serialise a ${typeof value}`);
  }
}

/*
 * The shortest round-trip digits of a double that is a float32 value (every float32 observation), by
 * exact arithmetic on Numbers, written as bytes (writePyFloat). V8's general shortest-digits search
 * and a string per number (pyFloat) were most of a JSON vector step (docs/vector.md, "Performance").
 * pyFloat stays the reference: test/pyjson.test.ts compares the two on millions of float32 values,
 * and anything outside this path's domain (or a tie it does not decide) is written by pyFloat.
 *
 * The float32 value a = m·2^e has a 24-bit m, so V = a·10^p = m·5^p·2^(e+p) is exact in two Numbers.
 * p is chosen so that V has 17 integer digits, held as A (the top 8) and B (the rest, below 1e9, with
 * its binary fraction); the doubles that round to a are those within H = half an ulp (in the same
 * units), a closed interval since a's 53-bit mantissa is even. The shortest digits are the multiple of
 * the largest power of ten inside it, the nearest to V if there are two.
 */
const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);
/** 5^p split so that m·hi and m·lo are exact: hi keeps at most 29 significant bits (24 + 29 ≤ 53). */
const POW5_HI: number[] = [];
const POW5_LO: number[] = [];
for (let p = 0; p <= 20; p++) {
  const pow = 5 ** p;
  const lowBits = Math.max(0, Math.ceil(Math.log2(pow + 1)) - 29);
  POW5_LO.push(pow % 2 ** lowBits);
  POW5_HI.push(pow - (pow % 2 ** lowBits));
}
/** 2^k at POW2[k + 64]: `2 ** k` cost more than the rest of the path together. */
const POW2 = Array.from({ length: 96 }, (_, k) => 2 ** (k - 64));
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
/**
 * p for a float32 of biased exponent b (a in [2^(b-127), 2^(b-126))): 16 - floor(log10 a) is
 * P_OF[b], or one less from SPLIT[b] up, where the binade holds a power of ten (Math.log10 cost as
 * much as the rest). A float32 is never within 1e-19 of a power of ten, so the double nearest one
 * splits exactly; an error would show in A and fall back all the same.
 */
const P_OF: number[] = [];
const SPLIT: number[] = [];
for (let b = 0; b < 256; b++) {
  const low = 2 ** (b - 127);
  const d = Math.floor(Math.log10(low) + 1e-12);
  P_OF.push(16 - d);
  const next = Number(`1e${d + 1}`);
  SPLIT.push(next < 2 * low ? next : Infinity);
}
const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000', '00000000', '000000000'];

/** float32Digits' result: the digits are A·10^9 + C (C < 1e9), as 17 digits with the point after `intDigits`. */
let digitsA = 0;
let digitsC = 0;
let intDigits = 0;

/**
 * Finds the shortest digits of `a` (> 0, a float32 value) into digitsA/digitsC/intDigits; false
 * when `a` is outside this path (below 2^-13, an integer, a power of two, a tie): use the general one.
 */
function float32Digits(a: number): boolean {
  F32[0] = a;
  const bits = F32_BITS[0];
  const biased = bits >>> 23;
  const m = (bits & 0x7fffff) | 0x800000;
  // 2^-13 ≤ a < 2^23 (from 2^23 up every float32 is an integer); a power of two has a narrower
  // interval below it.
  if (biased < 114 || biased > 149 || m === 0x800000) return false;
  // p = 16 - floor(log10 a): 10 to 20.
  const p = a >= SPLIT[biased] ? P_OF[biased] - 1 : P_OF[biased];
  const t = biased - 150 + p; // V = m·5^p·2^t, t in [-17, 9]
  const scale = POW2[t + 64];
  const hi = m * POW5_HI[p]; // exact (≤ 53 bits)
  const lo = m * POW5_LO[p]; // exact, and under 2^-27 of hi
  let A = Math.floor(((hi + lo) * scale) / 1e9);
  // B = V - A·1e9, exactly: hi·scale and A·1e9 are within a factor 2 (Sterbenz: their difference is
  // exact), and what is left has at most 31 integer and 17 fraction bits.
  let B = hi * scale - A * 1e9 + lo * scale;
  if (B < 0) {
    A -= 1;
    B += 1e9;
  } else if (B >= 1e9) {
    A += 1;
    B -= 1e9;
  }
  if (A < 1e7 || A >= 1e8) return false;
  const H = (POW5_HI[p] + POW5_LO[p]) * POW2[t + 34]; // half an ulp of a, times 10^p: 0.55 to 11
  // The interval is at most 23 wide: unless a multiple of 100 is within reach, the answer is a
  // multiple of 10 or of 1 (16 or 17 digits), and the search starts there.
  const r = B - Math.floor(B / 100) * 100; // B % 100 (fmod) cost more; if off by 100, the search is whole

  for (let j = r <= H || 100 - r <= H ? 9 : 1; j >= 0; j--) {
    const step = POW10[j];
    const below = Math.floor(B / step) * step;
    const above = below + step;
    const dBelow = B - below >= 0 ? B - below : below - B;
    const dAbove = above - B >= 0 ? above - B : B - above;
    const inBelow = dBelow <= H;
    const inAbove = dAbove <= H;
    if (!inBelow && !inAbove) continue;
    let C: number;
    if (inBelow && inAbove) {
      if (dBelow === dAbove) return false;
      C = dBelow < dAbove ? below : above;
    } else {
      C = inBelow ? below : above;
    }
    if (C >= 1e9) {
      A += 1;
      C -= 1e9;
      if (A >= 1e8) return false;
    }
    digitsA = A;
    digitsC = C;
    intDigits = 17 - p;
    return true;
  }
  return false;
}

const DIGITS = new Uint8Array(17);
/** The ASCII of 00 to 99, two bytes each. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor(i / 20)));

/** Writes the last 8 digits of `value` into DIGITS ending at `last`, two at a time; returns the rest of it. */
function eightDigits(value: number, last: number): number {
  for (let i = last; i > last - 8; i -= 2) {
    const q = (value / 100) | 0;
    const pair = 2 * (value - q * 100);
    DIGITS[i - 1] = PAIRS[pair];
    DIGITS[i] = PAIRS[pair + 1];
    value = q;
  }
  return value;
}

/** Writes the digits float32Digits found at `at` of `out`, in plain notation as pyFloat would; returns the end. */
function writeFloat32Digits(out: Uint8Array, at: number): number {
  DIGITS[8] = 48 + eightDigits(digitsC, 16); // C has 9 digits, A 8
  eightDigits(digitsA, 7);
  let end = 17;
  while (DIGITS[end - 1] === 48) end--;
  const n = intDigits;
  if (n <= 0) {
    out[at++] = 48; // 0.000ddd
    out[at++] = 46;
    for (let i = n; i < 0; i++) out[at++] = 48;
    for (let i = 0; i < end; i++) out[at++] = DIGITS[i];
  } else {
    for (let i = 0; i < n; i++) out[at++] = DIGITS[i];
    out[at++] = 46;
    for (let i = n; i < end; i++) out[at++] = DIGITS[i];
  }
  return at;
}

/** The most bytes writePyFloat writes for one number (`-1.2345678901234567e-100`). */
export const PY_FLOAT_MAX_BYTES = 24;

/**
 * Writes pyFloat(x)'s text as ASCII at `at` of `out` (room for PY_FLOAT_MAX_BYTES), returning the
 * end; throws as pyFloat does. A float32 value (every float32 observation) takes the exact path above,
 * which makes no string: a batch of them is one string at the end, not one per number plus joins.
 */
export function writePyFloat(x: number, out: Uint8Array, at: number): number {
  if (!Number.isInteger(x) && Number.isFinite(x)) {
    const a = Math.abs(x);
    if (Math.fround(a) === a && float32Digits(a)) {
      if (x < 0) out[at++] = 45;
      return writeFloat32Digits(out, at);
    }
  }
  const text = pyFloat(x);
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}
