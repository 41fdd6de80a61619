/**
 * The videos of rendered episodes on the REST port: each one at `/recordings/<id>.mp4` (the TCP
 * protocol's `url` links here when REST is on; the TCP port serves the same links itself), and the
 * list of recent ones, `GET /v1/recordings`, which the live view's page shows.
 */
import { open } from 'node:fs/promises';
import type { Recorder } from '../../recording/recorder.js';
import { videoResponse } from '../../recording/video-response.js';
import { json, type RouteSpec } from '../router.js';
import { toPyJson } from '../../json/pyjson.js';

export function recordingRoutes(recorder: Recorder | null) {
  return {
    video: {
      pattern: '/recordings/<file>',
      method: 'GET',
      doc: "An episode's video (H.264 MP4, byte ranges): `<id>.mp4`, or `<instance>.mp4` for the env's latest (the TCP protocol's `url` links here).",
      handler: async ({ file }, body) => {
        const response = await videoResponse(recorder, file, body.header('range'), false);
        if (!response.file) return { status: response.status, body: response.body ?? '', contentType: response.headers['Content-Type'], headers: without(response.headers, 'Content-Type') };
        // Read whole: videos of line art are tens of KB a minute; a browser asks for ranges of longer ones.
        const { path, start, end } = response.file;
        const bytes = Buffer.alloc(end - start + 1);
        const handle = await open(path, 'r');
        try {
          await handle.read(bytes, 0, bytes.length, start);
        } finally {
          await handle.close();
        }
        return { status: response.status, body: bytes, contentType: 'video/mp4', headers: without(without(response.headers, 'Content-Type'), 'Content-Length') };
      },
    },
    list: {
      pattern: '/v1/recordings',
      method: 'GET',
      doc: 'The recent recordings, newest first: id, env_id, instance, url, bytes, created (seconds since the epoch), frames, state (encoding or ready). Parameter: limit (query, default 100).',
      handler: (_params, body) => {
        const limit = Number(body.query('limit') ?? 100);
        const rows = recorder?.list(Number.isInteger(limit) && limit > 0 ? Math.min(limit, 10_000) : 100) ?? [];
        return json(toPyJson({ recordings: rows }));
      },
    },
  } satisfies Record<string, RouteSpec>;
}

function without(headers: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _, ...rest } = headers;
  return rest;
}
