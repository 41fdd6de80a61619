/**
 * A sharded vector env's replies in parts (docs/vector.md, "Shards"). A vector env of thousands of
 * sub-envs is split over the worker threads; each shard answers its share of a request as a part,
 * and the main thread joins the parts into the one reply the client gets, byte for byte what a
 * single thread would have written. The joining copies bytes: base64 data of whole shards
 * concatenates as it is (a shard holds a multiple of 3 sub-envs, so its bytes end on a base64
 * boundary), JSON lists by their items; only infos, rare in the common envs, are rebuilt from their
 * columns, and `recv`'s chunks, which end anywhere, come as raw bytes the main thread encodes.
 *
 * A part on the wire between the threads: u32 header length · header (JSON: PartHeader) · segments
 * (observations, then for a step rewards, terminations, truncations, then for a recv env ids).
 */
import { infosJson, zeroLike, type VectorInfos } from './infos.js';
import { layoutOf, encodeFlags, encodeFloats, encodeValues, type Encoding } from './batch.js';
import type { Space } from '../spaces/index.js';

/** A shard's place in its vector env: its first sub-env's index and the vector env's size. */
export interface ShardGeometry {
  offset: number;
  total: number;
}

/**
 * One list of a part's infos: its key path, and a JSON text per sub-env (null where the sub-env set
 * nothing there), plus the zero Gymnasium fills unset entries with, from this part's first set entry.
 * Masks are lists of their own (`_key`, zero false).
 */
export interface InfoColumn {
  p: string[];
  z: string;
  v: (string | null)[];
  /** A nested dict's place (it may hold nothing: CartPole's `final_info` is `{}`). */
  d?: 1;
}

interface PartHeader {
  /** Sub-envs in the part. */
  n: number;
  /** Byte lengths of the segments. */
  lens: number[];
  /** Observations' dtype and per-sub-env shape (base64). */
  dtype: string | null;
  shape: number[];
  /** Segments are raw little-endian bytes, not base64 (recv's chunks). */
  raw: boolean;
  infos: InfoColumn[];
  /** See PartData.clean. */
  clean: boolean;
}

export interface Part {
  header: PartHeader;
  segments: Buffer[];
}

/** What a part is made of (a batch's columns; rewards and flags for a step, ids for a recv). */
export interface PartData {
  obs: readonly unknown[];
  rewards?: Float64Array;
  terminations?: Uint8Array;
  truncations?: Uint8Array;
  ids?: readonly number[];
  infos: VectorInfos;
  /** The shard's VectorEnv.clean after the request (the coordinator's one-phase steps go by it). */
  clean?: boolean;
}

/** The inside of a batch's JSON text: a base64 batch's data, or a JSON list's items. */
function inside(batchJson: string, encoding: Encoding): string {
  if (encoding === 'json') return batchJson.slice(1, -1);
  return batchJson.slice(batchJson.indexOf('"data": "') + 9, -2);
}

/** A shard's part of a reply, for the main thread to join (worker side). */
export function encodePart(space: Space<unknown>, encoding: Encoding, data: PartData, raw: boolean): Buffer {
  const texts = [inside(encodeValues(space, data.obs, encoding), encoding)];
  if (data.rewards) {
    texts.push(inside(encodeFloats(data.rewards, encoding), encoding));
    texts.push(inside(encodeFlags(data.terminations!, encoding), encoding));
    texts.push(inside(encodeFlags(data.truncations!, encoding), encoding));
  }
  if (data.ids) texts.push(data.ids.join(', '));
  const binary = raw && encoding === 'base64';
  const segments = texts.map((text, k) => (binary && k < 4 ? Buffer.from(text, 'base64') : Buffer.from(text, 'latin1')));
  const layout = layoutOf(space);
  const header: PartHeader = {
    n: data.obs.length,
    lens: segments.map((s) => s.length),
    dtype: layout?.dtype ?? null,
    shape: [...(layout?.shape ?? [])],
    raw: binary,
    infos: infoColumns(data.infos, data.obs.length),
    clean: data.clean ?? false,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32LE(headerBytes.length, 0);
  return Buffer.concat([length, headerBytes, ...segments]);
}

/** The infos dict as columns, in its key order (masks after their lists, as Gymnasium inserts them). */
function infoColumns(infos: VectorInfos, n: number, path: string[] = [], out: InfoColumn[] = []): InfoColumn[] {
  for (const key in infos) {
    const value = infos[key];
    if (!Array.isArray(value)) {
      out.push({ p: [...path, key], z: '', v: [], d: 1 });
      infoColumns(value, n, [...path, key], out);
      continue;
    }
    const mask = key.startsWith('_') ? null : (infos['_' + key] as boolean[] | undefined);
    const isSet = (i: number) => (mask ? mask[i] : key.startsWith('_') ? value[i] === true : true);
    const v = new Array<string | null>(n);
    let z: string | null = null;
    for (let i = 0; i < n; i++) {
      if (!isSet(i)) {
        v[i] = null;
        continue;
      }
      v[i] = infosJson(value[i]);
      z ??= key === 'final_obs' ? 'null' : key.startsWith('_') ? 'false' : infosJson(zeroLike(value[i]));
    }
    out.push({ p: [...path, key], z: z ?? 'false', v });
  }
  return out;
}

/** Reads the parts a shard's result holds, in order (main side). */
export function readParts(bytes: Uint8Array): Part[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Part[] = [];
  let at = 0;
  while (at < buffer.length) {
    const headerLength = buffer.readUInt32LE(at);
    const header = JSON.parse(buffer.toString('utf8', at + 4, at + 4 + headerLength)) as PartHeader;
    at += 4 + headerLength;
    const segments = header.lens.map((length) => {
      const segment = buffer.subarray(at, at + length);
      at += length;
      return segment;
    });
    parts.push({ header, segments });
  }
  return parts;
}

/**
 * The reply the parts make, in their order: a reset's (`observations`, `infos`), a step's, or a
 * recv's (with `env_ids`). The same bytes a single VectorEnv writes for the same sub-envs, as one
 * Buffer: the parts' segments are copied once, never made strings (a 4,096-CartPole JSON reply is
 * ~440 KB), with `end` after them when given.
 */
export function joinParts(parts: readonly Part[], kind: 'reset' | 'step' | 'recv', encoding: Encoding, end?: Buffer): Buffer {
  const n = parts.reduce((sum, part) => sum + part.header.n, 0);
  const first = parts.find((part) => part.header.dtype !== null)?.header ?? parts[0].header;
  const filled = parts.filter((part) => part.header.n > 0);
  const out: Buffer[] = [];
  const text = (s: string) => out.push(Buffer.from(s, 'utf8'));
  const list = (k: number) => {
    text('[');
    filled.forEach((part, i) => {
      if (i > 0) text(', ');
      out.push(part.segments[k]);
    });
    text(']');
  };
  const column = (k: number, dtype: string, shape: readonly number[]) => {
    if (encoding === 'json') return list(k);
    text(`{"dtype": "${dtype}", "shape": [${[n, ...shape].join(', ')}], "data": "`);
    if (parts.some((part) => part.header.raw)) text(Buffer.concat(filled.map((part) => part.segments[k])).toString('base64'));
    else for (const part of filled) out.push(part.segments[k]);
    text('"}');
  };
  text('{"observations": ');
  column(0, first.dtype ?? '', first.shape);
  if (kind !== 'reset') {
    text(', "rewards": ');
    column(1, 'float64', []);
    text(', "terminations": ');
    column(2, 'bool', []);
    text(', "truncations": ');
    column(3, 'bool', []);
  }
  text(`, "infos": ${joinInfos(parts)}`);
  if (kind === 'recv') {
    text(', "env_ids": ');
    list(4);
  }
  text('}');
  // `end`: what follows the reply on the wire (its terminator), copied with it rather than after.
  if (end) out.push(end);
  return Buffer.concat(out);
}

/** A dict of key → (a list's JSON text, or a nested dict), in insertion order. */
type InfoTree = Map<string, string | InfoTree>;

/** The infos of all parts as one dict's JSON text: each list over every sub-env, unset entries the zero of the first part that set one. */
function joinInfos(parts: readonly Part[]): string {
  if (parts.every((part) => part.header.infos.length === 0)) return '{}';
  // Every path, in the order a single thread's dict would have it: first appearance over the parts,
  // with RecordEpisodeStatistics' `episode` and `_episode` last (it adds them after every sub-env).
  const paths = new Map<string, string[]>();
  const zeros = new Map<string, string>();
  const dicts = new Set<string>();
  const byPart = parts.map((part) => new Map(part.header.infos.map((c) => [c.p.join('\u0000'), c])));
  for (const part of parts) {
    for (const c of part.header.infos) {
      const key = c.p.join('\u0000');
      if (!paths.has(key)) paths.set(key, c.p);
      if (c.d) dicts.add(key);
      if (!zeros.has(key) && c.v.some((x) => x !== null)) zeros.set(key, c.z);
    }
  }
  const isEpisode = (p: string[]) => p[0] === 'episode' || p[0] === '_episode';
  const ordered = [...paths.entries()].filter(([, p]) => !isEpisode(p)).concat([...paths.entries()].filter(([, p]) => isEpisode(p)));
  const tree: InfoTree = new Map();
  for (const [key, p] of ordered) {
    let node = tree;
    for (const name of p.slice(0, -1)) {
      let next = node.get(name);
      if (typeof next !== 'object') node.set(name, (next = new Map()));
      node = next;
    }
    if (dicts.has(key)) {
      if (!node.has(p[p.length - 1])) node.set(p[p.length - 1], new Map());
      continue;
    }
    const zero = zeros.get(key) ?? 'false';
    const items: string[] = [];
    parts.forEach((part, k) => {
      const c = byPart[k].get(key);
      for (let i = 0; i < part.header.n; i++) items.push(c?.v[i] ?? zero);
    });
    node.set(p[p.length - 1], '[' + items.join(', ') + ']');
  }
  const write = (node: InfoTree): string =>
    '{' + [...node.entries()].map(([name, value]) => JSON.stringify(name) + ': ' + (typeof value === 'string' ? value : write(value))).join(', ') + '}';
  return write(tree);
}
