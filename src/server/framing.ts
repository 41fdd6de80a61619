import { constants, deflateSync } from 'node:zlib';

/**
 * The TCP front's framing (docs/protocol.md §2.2, §7): every reply is its JSON text, compressed as a
 * zlib stream when the connection asked for compression, then an uncompressed `\r\n\r\n`, which the
 * C++ client reads up to. The REST front never frames.
 *
 * It is the TCP front's code, but it runs where the reply is made, on the env worker (see
 * workers/env-worker.ts): zlib costs more than a CartPole step, and the main thread's CPU is the
 * server's scarcest (docs/performance.md).
 */
export const REPLY_TERMINATOR = '\r\n\r\n';

const ALTERNATE_STRATEGIES = [constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_FIXED, constants.Z_RLE];

/** Frames one reply's JSON text for the wire at the connection's compression level (0: none). */
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
