/**
 * What a session answers, typed: the reply's JSON text as the TCP protocol writes it, what kind of
 * reply it is, its error code, and where its one value sits in the text. The fronts read these
 * fields; none of them looks inside the JSON to learn what it got (docs/protocol.md §3, §8).
 */
import { toPyJson } from '../json/pyjson.js';
import { ERROR_CODE_LIST, type ErrorCode } from './errors.js';

/**
 * Every kind of reply, by the request that gets it (`error` for any request that failed). `monitor`
 * is never written to a client: it carries an older client's silent `monitor` request to the front,
 * which acts on it (docs/protocol.md §4). `vector`: any reply of a vector request but an error (docs/vector.md).
 * `shard` and `part` are never written either: a shard of a vector env split over worker threads tells
 * the main thread's coordinator what it did, or gives its part of a reply as bytes (src/server/vector-shards.ts).
 */
export const REPLY_KINDS = ['instance', 'space', 'sample', 'observation', 'step', 'member', 'url', 'auth', 'error', 'frame', 'text', 'monitor', 'vector', 'shard', 'part'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

export interface Reply {
  kind: ReplyKind;
  /** The reply object's JSON text, e.g. `{"sample": 1}`. */
  json: string;
  /** The JSON text of the reply's one value is `json.slice(valueStart, valueEnd)` (the action of `sample`, the SPACE of `info`, an error's message string); -1: the reply has several (a step). */
  valueStart: number;
  valueEnd: number;
  /** Set on `error` replies. */
  code: ErrorCode | null;
}

/** A reply with one value: `{"<key>": <value JSON>}`. */
export function valueReply(kind: ReplyKind, key: string, valueJson: string): Reply {
  const prefix = `{"${key}": `;
  return { kind, json: prefix + valueJson + '}', valueStart: prefix.length, valueEnd: prefix.length + valueJson.length, code: null };
}

/** A reply whose value is the whole object (a step's several fields). */
export function objectReply(kind: ReplyKind, json: string): Reply {
  return { kind, json, valueStart: -1, valueEnd: -1, code: null };
}

/** `{"error": {"code": "…", "message": "…"}}`; its value is the message, as a JSON string. */
export function errorReply(code: ErrorCode, message: string): Reply {
  const prefix = `{"error": {"code": "${code}", "message": `;
  const messageJson = toPyJson(message);
  return { kind: 'error', json: prefix + messageJson + '}}', valueStart: prefix.length, valueEnd: prefix.length + messageJson.length, code };
}

/** The value's JSON text (the whole JSON where the reply has no single value). */
export function replyValue(reply: Pick<Reply, 'json' | 'valueStart' | 'valueEnd'>): string {
  return reply.valueStart < 0 ? reply.json : reply.json.slice(reply.valueStart, reply.valueEnd);
}

/** Small integers for the channel's records (src/pool/channel.ts). */
export const replyKindIndex = (kind: ReplyKind): number => REPLY_KINDS.indexOf(kind);
export const replyKindAt = (index: number): ReplyKind => REPLY_KINDS[index];
export const errorCodeIndex = (code: ErrorCode): number => ERROR_CODE_LIST.indexOf(code);
export const errorCodeAt = (index: number): ErrorCode => ERROR_CODE_LIST[index];
