import { deflateSync } from 'node:zlib';
import { toPyJson } from './pyjson.js';
import { ProtocolError, type ErrorCode } from './errors.js';

/** Every reply ends with a blank line; the C++ client reads up to it (PROTOCOL.md §1). */
export const REPLY_TERMINATOR = '\r\n\r\n';

/**
 * Frames one reply: the JSON text, as a zlib stream when the connection asked for compression
 * (PROTOCOL.md §4), then an uncompressed terminator.
 */
export function frameReply(json: string, compressionLevel: number): string | Uint8Array {
  if (compressionLevel === 0) return json + REPLY_TERMINATOR;
  const body = deflateSync(json, { level: compressionLevel });
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
