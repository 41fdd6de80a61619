/**
 * HTTP GET on the TCP port: the links `url` answers with work on the one port a client already
 * reaches (behind one load-balancer rule), with no other option set. A connection's first byte
 * tells which it is: every protocol line is a JSON object and starts with `{` (or blank space
 * before it), an HTTP request served here with `GET /` or `HEAD /`. Only recordings are
 * served here (GET and HEAD of `/recordings/<name>.mp4`, with ranges); one request per connection,
 * then the server closes it (`Connection: close`), which every HTTP client handles.
 */
import { createReadStream } from 'node:fs';
import type { Socket } from 'node:net';
import type { Recorder } from '../recording/recorder.js';
import { videoResponse, type VideoResponse } from '../recording/video-response.js';

/** A request's head (request line and headers) longer than this is refused: it is not a video request. */
const MAX_HEAD_BYTES = 16 * 1024;
/** A request's head must arrive within this long. */
const HEAD_TIMEOUT_MS = 10_000;

/** The requests served here begin so; nothing else a client sends does (a protocol line starts with `{`). */
const HTTP_STARTS = ['GET /', 'HEAD /'];

/**
 * Whether a connection's first bytes are an HTTP request rather than protocol lines: true, false, or
 * null while they are too few to tell (a prefix of `GET /`). Only `GET /` and `HEAD /` count, so that
 * a protocol client's malformed first line still gets its protocol error.
 */
export function looksLikeHttp(firstBytes: Buffer): boolean | null {
  const start = firstBytes.toString('latin1', 0, Math.min(firstBytes.length, 6));
  if (HTTP_STARTS.some((method) => start.startsWith(method))) return true;
  if (HTTP_STARTS.some((method) => method.startsWith(start))) return null;
  return false;
}

/** One HTTP request on a TCP-port connection. */
export class HttpOnTcp {
  #head: Buffer[] = [];
  #headBytes = 0;
  #answered = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    readonly recorder: Recorder | null,
  ) {
    this.#timer = setTimeout(() => this.#respond({ status: 408, headers: {}, body: '' }), HEAD_TIMEOUT_MS).unref();
    socket.once('close', () => clearTimeout(this.#timer));
  }

  /** Bytes read (they may be overwritten after the call: copied). */
  receive(chunk: Buffer): void {
    if (this.#answered) return;
    this.#head.push(Buffer.from(chunk));
    this.#headBytes += chunk.length;
    const head = Buffer.concat(this.#head);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#headBytes > MAX_HEAD_BYTES) this.#respond(plain(431, 'request head too large'));
      return;
    }
    this.#answered = true;
    clearTimeout(this.#timer);
    const lines = head.subarray(0, end).toString('latin1').split('\r\n');
    const [method, target] = lines[0].split(' ');
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    void this.#handle(method, target ?? '', headers.get('range')).catch(() => this.socket.destroy());
  }

  async #handle(method: string, target: string, range: string | undefined): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD') return this.#respond({ ...plain(405, 'only GET and HEAD are served on this port'), headers: { Allow: 'GET, HEAD' } });
    const path = target.split('?')[0];
    const m = /^\/recordings\/([A-Za-z0-9._-]+)$/.exec(path);
    if (!m) return this.#respond(plain(404, `this port serves the protocol and /recordings/<id>.mp4; not ${path.slice(0, 100)}`));
    this.#respond(await videoResponse(this.recorder, m[1], range, method === 'HEAD'));
  }

  #respond(response: VideoResponse): void {
    this.#answered = true;
    const socket = this.socket;
    if (socket.destroyed) return;
    const body = response.body ?? '';
    const headers: Record<string, string> = { ...response.headers, Connection: 'close' };
    if (!response.file && headers['Content-Length'] === undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? ''}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
    if (!response.file) {
      socket.end(head + body);
      return;
    }
    socket.write(head);
    const stream = createReadStream(response.file.path, { start: response.file.start, end: response.file.end });
    stream.on('error', () => socket.destroy());
    stream.pipe(socket);
  }
}

function plain(status: number, message: string): VideoResponse {
  return { status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message }) + '\n' };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  206: 'Partial Content',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};
