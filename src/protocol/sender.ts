import { constants, deflateSync } from 'node:zlib';
import { toPyJson } from '../json/pyjson.js';
import { ProtocolError, type ErrorCode } from './errors.js';

/** Every reply ends with a blank line; the C++ client reads up to it (PROTOCOL.md §1). */
export const REPLY_TERMINATOR = '\r\n\r\n';

const ALTERNATE_STRATEGIES = [constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_FIXED, constants.Z_RLE];

/**
 * Frames one reply: the JSON text, as a zlib stream when the connection asked for compression
 * (PROTOCOL.md §4), then an uncompressed terminator.
 */
export function frameReply(json: string, compressionLevel: number): string | Uint8Array {
  if (compressionLevel === 0) return json + REPLY_TERMINATOR;
  let body = deflateSync(json, { level: compressionLevel });
  // Clients read up to the first CRLFCRLF, so the compressed bytes must not contain one (about one
  // reply in 10^8 would). Another deflate strategy gives other bytes for the same JSON.
  for (let i = 0; body.includes(REPLY_TERMINATOR) && i < ALTERNATE_STRATEGIES.length; i++) {
    body = deflateSync(json, { level: compressionLevel, strategy: ALTERNATE_STRATEGIES[i] });
  }
  const framed = Buffer.allocUnsafe(body.length + 4);
  body.copy(framed, 0);
  framed.write(REPLY_TERMINATOR, body.length, 'latin1');
  return framed;
}

export function errorJson(code: ErrorCode, message: string): string {
  return toPyJson({ error: { code, message } });
}

export function errorJsonFor(err: unknown): string {
  if (err instanceof ProtocolError) return errorJson(err.code, err.message);
  return errorJson('ENV_FAILED', `the environment failed: ${err instanceof Error ? err.message : String(err)}`);
}
