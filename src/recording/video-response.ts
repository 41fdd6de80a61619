/**
 * GET (and HEAD) of a recording, as both ports answer it: the REST front's route and the HTTP
 * requests the TCP port takes (src/server/http-on-tcp.ts). `video/mp4` with byte ranges (a browser's
 * <video> asks for `bytes=0-` and then seeks); a recording still being recorded or encoded is waited
 * for (RECORDING_WAIT_MS) rather than served half-written.
 */
import { stat } from 'node:fs/promises';
import type { Recorder } from './recorder.js';

export interface VideoResponse {
  status: number;
  headers: Record<string, string>;
  /** The bytes to send, `start` to `end` inclusive; absent for an error (then `body`) or HEAD. */
  file?: { path: string; start: number; end: number };
  body?: string;
}

/** `name` is the link's last segment (`<id>.mp4` or `<instance>.mp4`). */
export async function videoResponse(recorder: Recorder | null, name: string, range: string | undefined, head: boolean): Promise<VideoResponse> {
  const id = name.endsWith('.mp4') ? name.slice(0, -4) : name;
  const recording = recorder?.find(id);
  if (!recording) return problem(404, `no recording ${name}: nothing was rendered in that episode, or it was evicted (--max-recordings-bytes)`);
  const state = await recording.settled();
  if (state === 'failed') return problem(404, `the recording ${name} could not be made (the server's log says why)`);
  if (state !== 'ready') {
    const what = state === 'recording' ? 'its episode is still being played' : 'it is still being encoded';
    return { ...problem(503, `the recording ${name} is not ready: ${what}; ask again later`), headers: { ...JSON_HEADERS, 'Retry-After': '5' } };
  }
  const size = await stat(recording.file).then(
    (s) => s.size,
    () => -1,
  );
  if (size < 0) return problem(404, `no recording ${name}: it was evicted (--max-recordings-bytes)`);
  const headers: Record<string, string> = { 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-cache' };
  const wanted = byteRange(range, size);
  if (wanted === 'unsatisfiable') {
    return { status: 416, headers: { ...JSON_HEADERS, 'Content-Range': `bytes */${size}` }, body: JSON.stringify({ message: `range ${range} is outside the ${size} bytes of ${name}` }) };
  }
  const [start, end] = wanted ?? [0, size - 1];
  headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
  if (wanted) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  return { status: wanted ? 206 : 200, headers, file: head || size === 0 ? undefined : { path: recording.file, start, end } };
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function problem(status: number, message: string): VideoResponse {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify({ message }) + '\n' };
}

/**
 * One `bytes=` range of RFC 9110 (`a-b`, `a-`, `-n`), clipped to the file; null: the whole file (no
 * header, another unit, or several ranges, which a server may answer whole).
 */
export function byteRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  const m = header === undefined ? null : /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return [start, end];
}
