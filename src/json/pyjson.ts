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
