/**
 * INFOS of docs/vector.md: Gymnasium's vector info dict (`VectorEnv._add_info`). For each key a
 * sub-env returns, a list over the sub-envs and a boolean list `_key` marking which sub-envs set it;
 * dicts nest with their own masks; `final_obs` is a list with null where no sub-env ended.
 *
 * One difference on purpose (docs/vector.md, "Where gym-tcp differs"): Gymnasium makes each list a
 * NumPy array typed by the first sub-env that set the key and casts the others to it (FrozenLake's
 * `prob` 1/3 becomes 0 when sub-env 0 was just reset and said `prob: 1`). Here every entry keeps its
 * own value and type; entries no sub-env set are the zero of the first one's type, as Gymnasium's.
 */
import { PyFloat, pyFloat, toPyJson } from '../json/pyjson.js';
import type { Info } from '../envs/env.js';

/** A value already written as JSON (an observation in `final_obs`). */
export class JsonText {
  constructor(readonly text: string) {}
}

/** The dict being built: lists (JS arrays of one entry per sub-env), masks (boolean arrays), nested dicts. */
export type VectorInfos = { [key: string]: unknown[] | VectorInfos };

/** What Gymnasium fills a fresh array with: zeros of the first value's dtype (None for objects). */
export function zeroLike(value: unknown): unknown {
  if (value instanceof PyFloat) return new PyFloat(0);
  if (typeof value === 'number') return 0;
  if (typeof value === 'boolean') return false;
  if (Array.isArray(value)) return value.map(zeroLike);
  return null;
}

function isDict(value: unknown): value is Info {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof PyFloat) && !(value instanceof JsonText);
}

/** Gymnasium's `_add_info(infos, info, i)` for a batch of `n` (keys in its insertion order). */
export function addInfo(infos: VectorInfos, info: Info, i: number, n: number): VectorInfos {
  for (const key in info) {
    const value = info[key];
    if (key === 'final_obs') {
      const list = (infos[key] as unknown[] | undefined) ?? new Array<unknown>(n).fill(null);
      list[i] = value;
      infos[key] = list;
    } else if (isDict(value)) {
      infos[key] = addInfo((infos[key] as VectorInfos | undefined) ?? {}, value, i, n);
    } else {
      const list = (infos[key] as unknown[] | undefined) ?? new Array<unknown>(n).fill(zeroLike(value));
      list[i] = value;
      infos[key] = list;
    }
    const maskKey = '_' + key;
    const mask = (infos[maskKey] as boolean[] | undefined) ?? new Array<boolean>(n).fill(false);
    mask[i] = true;
    infos[maskKey] = mask;
  }
  return infos;
}

/** The dict's JSON text, as Python's json writes it (floats as floats). */
export function infosJson(value: unknown): string {
  if (value instanceof JsonText) return value.text;
  if (value instanceof PyFloat) return pyFloat(value.value);
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) s += (i ? ', ' : '') + infosJson(value[i]);
    return s + ']';
  }
  if (isDict(value)) {
    let s = '{';
    let first = true;
    for (const key in value) {
      s += (first ? '' : ', ') + JSON.stringify(key) + ': ' + infosJson(value[key]);
      first = false;
    }
    return s + '}';
  }
  return toPyJson(value);
}

/** Python floats survive a snapshot's JSON as `{"$f": x}` (toPlain) and come back as PyFloats (fromPlain). */
export function toPlain(value: unknown): unknown {
  if (value instanceof PyFloat) return { $f: value.value };
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}
export function fromPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromPlain);
  if (typeof value === 'object' && value !== null) {
    if ('$f' in value) return new PyFloat((value as { $f: number }).$f);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromPlain(v)]));
  }
  return value;
}
