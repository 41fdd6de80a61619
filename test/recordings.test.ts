/**
 * Recordings: rendered episodes become H.264 MP4 files, served at the `url` links on the TCP port
 * itself (HTTP told from protocol lines by the first byte) and on the REST port, with byte ranges,
 * bounded by --max-recordings-bytes, copied into monitor directories. Real sockets, real env
 * workers, the real encoder pool; the files are checked by reading their MP4 boxes.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPP } from '../src/protocol/messages.js';
import { RestServer } from '../src/http/rest-server.js';
import { Recorder } from '../src/recording/recorder.js';
import { RawClient, startServer } from './helpers.js';
import { mp4Facts } from './mp4.js';

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Plays one CartPole episode of `steps` steps (or until it ends), rendering each. */
async function renderedSteps(c: RawClient, steps: number): Promise<number> {
  let n = 0;
  let reply: any;
  do reply = await c.ask(CPP.step('1', 1));
  while (!reply.done && ++n < steps);
  return n + (reply.done ? 1 : 0);
}

describe('recordings over TCP', () => {
  it('mlpack-style sequence: make -render, monitor start, reset, rendered steps, close, url → an MP4 of that episode on the TCP port', async () => {
    const root = tempDir('gym-tcp-rec-monitor-');
    const logged: string[] = [];
    const s = await startServer({ workers: 1, monitorRoot: root, recordingsDir: tempDir('gym-tcp-rec-'), log: (m, fields) => fields?.level !== 'debug' && logged.push(m) });
    try {
      const c = await RawClient.connect(s);
      const instance = (await c.ask(CPP.make('Pendulum-v1-render'))).instance;
      await c.ask(CPP.observationSpace);
      await c.ask(CPP.actionSpace);
      c.write(`${CPP.monitorStart('./dummy/')}\r\n`);
      await c.ask(CPP.reset);
      let steps = 0;
      let reply: any;
      do {
        reply = await c.ask(CPP.step('[0.500000]', 1));
        steps += 1;
      } while (!reply.done);
      c.write(`${CPP.monitorClose}\r\n`);
      c.write(`${CPP.close}\r\n`);
      const { url } = await c.ask(CPP.url);
      const { port } = s.address();
      // The default: the link is this TCP port itself.
      expect(url).toBe(`http://127.0.0.1:${port}/recordings/${instance}.mp4`);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('video/mp4');
      const mp4 = Buffer.from(await response.arrayBuffer());
      expect(Number(response.headers.get('content-length'))).toBe(mp4.length);
      const facts = mp4Facts(mp4);
      expect(facts.codec).toBe('avc1');
      expect([facts.width, facts.height]).toEqual([500, 500]);
      // The frame after the reset, then one per step.
      expect(steps).toBe(200);
      expect(facts.frames).toBe(201);
      // Pendulum's render_fps is 30: 201 frames last 6.7 s.
      expect(facts.duration / facts.timescale).toBeCloseTo(201 / 30, 1);
      // The connection that asked still speaks the protocol.
      expect((await c.ask(CPP.make('CartPole-v1'))).instance).toMatch(/-[0-9a-f]{13}$/);
      await c.end();
      await s.close();
      // The monitor (Gym's capped cubic schedule records episode 0) copied the video beside its statistics.
      const dir = join(root, 'dummy');
      const manifest = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.manifest.json'))!), 'utf8'));
      expect(manifest.videos).toHaveLength(1);
      const [video, meta] = manifest.videos[0];
      expect(video).toMatch(/^openaigym\.video\.\d+\.\d+\.video000000\.mp4$/);
      expect(meta).toBe(video.replace(/\.mp4$/, '.meta.json'));
      expect(mp4Facts(readFileSync(join(dir, video))).frames).toBe(201);
      expect(JSON.parse(readFileSync(join(dir, meta), 'utf8'))).toMatchObject({ episode_id: 0, content_type: 'video/mp4' });
      expect(logged).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('render: 1 on some steps records just those frames; the episode ends at termination; ranges, HEAD and errors on the TCP port', async () => {
    const s = await startServer({ workers: 1, recordingsDir: tempDir('gym-tcp-rec-') });
    try {
      const c = await RawClient.connect(s);
      const instance = (await c.ask(CPP.make('CartPole-v1'))).instance;
      c.write(`${CPP.seed(3)}\r\n`);
      await c.ask(CPP.reset);
      let rendered = 0;
      let reply: any;
      for (let i = 0; ; i++) {
        reply = await c.ask(CPP.step('1', i % 2));
        rendered += i % 2;
        if (reply.done) break;
      }
      // Ended by termination, no close: the link still answers (the recording was finished by the step).
      const { url } = await c.ask(CPP.url);
      const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
      const facts = mp4Facts(whole);
      expect(facts.frames).toBe(rendered);
      expect([facts.width, facts.height]).toEqual([600, 400]);
      expect(facts.duration / facts.timescale).toBeCloseTo(rendered / 50, 1);

      const part = await fetch(url, { headers: { Range: 'bytes=10-109' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-109/${whole.length}`);
      expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 110));
      const tail = await fetch(url, { headers: { Range: 'bytes=-16' } });
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 16));
      const open = await fetch(url, { headers: { Range: `bytes=${whole.length - 5}-` } });
      expect(open.headers.get('content-range')).toBe(`bytes ${whole.length - 5}-${whole.length - 1}/${whole.length}`);
      const outside = await fetch(url, { headers: { Range: `bytes=${whole.length}-` } });
      expect(outside.status).toBe(416);
      expect(outside.headers.get('content-range')).toBe(`bytes */${whole.length}`);
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe(whole.length);
      // The episode's own link names it by env and episode.
      expect((await fetch(url.replace(`${instance}.mp4`, `${instance}-0.mp4`))).status).toBe(200);
      expect((await fetch(url.replace(instance, 'n1-0000000000000'))).status).toBe(404);
      expect((await fetch(url.replace('/recordings/', '/elsewhere/'))).status).toBe(404);
      // Only GET and HEAD are HTTP on this port: a POST is read as protocol lines (not HTTP back).
      await expect(fetch(url, { method: 'POST', body: '{}' })).rejects.toThrow();
      // The protocol connection was never disturbed by the HTTP ones.
      expect((await c.ask(CPP.step('0'))).observation).toBeDefined();
      await c.end();
    } finally {
      await s.close();
    }
  });

  it('a link to a recording still being played waits for the episode to end, then serves the file', async () => {
    const s = await startServer({ workers: 1, recordingsDir: tempDir('gym-tcp-rec-') });
    try {
      const c = await RawClient.connect(s);
      await c.ask(CPP.make('CartPole-v1-render'));
      await c.ask(CPP.reset);
      await c.ask(CPP.step('1', 1));
      const { url } = await c.ask(CPP.url);
      let served: Response | null = null;
      const fetching = fetch(url).then((r) => (served = r));
      await new Promise((r) => setTimeout(r, 300));
      expect(served).toBeNull();
      await c.ask(CPP.step('1', 1));
      c.write(`${CPP.close}\r\n`);
      const response = (await fetching) as Response;
      expect(response.status).toBe(200);
      // The frame after the reset and the two steps.
      expect(mp4Facts(Buffer.from(await response.arrayBuffer())).frames).toBe(3);
      await c.end();
    } finally {
      await s.close();
    }
  });

  it('keeps the recordings under --max-recordings-bytes, deleting the oldest first', async () => {
    const dir = tempDir('gym-tcp-rec-');
    const s = await startServer({ workers: 1, recordingsDir: dir, maxRecordingsBytes: 10_000 });
    try {
      const c = await RawClient.connect(s);
      const urls: string[] = [];
      for (let i = 0; i < 6; i++) {
        await c.ask(CPP.make('CartPole-v1'));
        c.write(`${CPP.seed(i)}\r\n`);
        await c.ask(CPP.reset);
        await renderedSteps(c, 40);
        c.write(`${CPP.close}\r\n`);
        const { url } = await c.ask(CPP.url);
        expect((await fetch(url)).status).toBe(200);
        urls.push(url);
        const files = readdirSync(dir).filter((f) => f.endsWith('.mp4'));
        const bytes = files.reduce((sum, f) => sum + readFileSync(join(dir, f)).length, 0);
        expect(bytes).toBeLessThanOrEqual(10_000);
        expect(s.recorder.bytes).toBe(bytes);
      }
      const sizes = await Promise.all(urls.map(async (u) => (await fetch(u)).status));
      // The newest stay, the oldest went; none in between is missing while an older one stays.
      expect(sizes[sizes.length - 1]).toBe(200);
      expect(sizes[0]).toBe(404);
      expect(sizes.indexOf(200)).toBeGreaterThan(0);
      expect(sizes.slice(sizes.indexOf(200)).every((x) => x === 200)).toBe(true);
      expect(s.recorder.counts.evicted).toBe(sizes.filter((x) => x === 404).length);
      await c.end();
    } finally {
      await s.close();
    }
  });
});

describe('the recorder', () => {
  it('logs an encoding failure (a frame size the encoder refuses) and goes on recording other episodes', async () => {
    const logged: string[] = [];
    const recorder = new Recorder({ dir: tempDir('gym-tcp-rec-'), maxBytes: 1e9, encoders: 1, log: (m) => logged.push(m) });
    try {
      const frame = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(200) });
      recorder.frame({ instance: 'n1-a', envId: 'CartPole-v1', episode: 0, step: 0, frame: frame(600, 400) });
      recorder.frame({ instance: 'n1-a', envId: 'CartPole-v1', episode: 0, step: 1, frame: frame(300, 200) });
      recorder.end('n1-a');
      expect(await recorder.latest('n1-a')!.settled()).toBe('failed');
      expect(logged.join('\n')).toMatch(/could not be encoded: frame size changed/);
      // Odd sizes are padded to even ones (yuv420p).
      for (let step = 0; step < 5; step++) recorder.frame({ instance: 'n1-b', envId: 'X', episode: 0, step, frame: frame(45, 31) });
      recorder.end('n1-b');
      const good = recorder.latest('n1-b')!;
      expect(await good.settled()).toBe('ready');
      const facts = mp4Facts(readFileSync(good.file));
      expect([facts.width, facts.height, facts.frames]).toEqual([46, 32, 5]);
      expect(recorder.list().map((r) => r.id)).toEqual(['n1-b-0']);
      // Frames in flight are counted (a frame's bytes leave with it): past 4 MiB the producer is told to wait.
      const behind: unknown[] = [];
      for (let step = 0; step < 7; step++) behind.push(recorder.frame({ instance: 'n1-c', envId: 'X', episode: 0, step, frame: frame(600, 400) }));
      expect(recorder.latest('n1-c')!.inFlight).toBeGreaterThan(0);
      expect(behind.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(behind[6]).toBeInstanceOf(Promise);
      await behind[6];
      expect(recorder.latest('n1-c')!.inFlight).toBeLessThanOrEqual(2 * 1024 * 1024);
    } finally {
      await recorder.close();
    }
  });
});

describe('recordings on the REST port', () => {
  it('the monitor writes videos per video_callable, listed in the manifest; /v1/recordings lists them; /recordings/ serves them', async () => {
    const root = tempDir('gym-tcp-rec-monitor-');
    const s = await startServer({ workers: 1, monitorRoot: root, recordingsDir: tempDir('gym-tcp-rec-') });
    const rest = await RestServer.listen(s.pool, { port: 0, host: '127.0.0.1', monitorRoot: root, frames: s.frames, recorder: s.recorder });
    const base = `http://127.0.0.1:${rest.address().port}`;
    const post = async (path: string, body: unknown) => {
      const r = await fetch(base + path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      const text = await r.text();
      return text ? JSON.parse(text) : null;
    };
    try {
      const { instance_id: id } = await post('/v1/envs/', { env_id: 'CartPole-v1' });
      await post(`/v1/envs/${id}/monitor/start/`, { directory: 'videos', force: true, video_callable: 2 });
      const lengths: number[] = [];
      for (let episode = 0; episode < 3; episode++) {
        await post(`/v1/envs/${id}/reset/`, { seed: episode });
        let n = 0;
        let r: any;
        do {
          r = await post(`/v1/envs/${id}/step/`, { action: n % 2 });
          n++;
        } while (!r.done);
        lengths.push(n);
      }
      await post(`/v1/envs/${id}/monitor/close/`, {});
      const dir = join(root, 'videos');
      const manifest = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.manifest.json'))!), 'utf8'));
      // Every 2nd episode: 0 and 2, each with the frame after its reset.
      expect(manifest.videos.map((v: string[]) => v[0].replace(/.*\.video/, ''))).toEqual(['000000.mp4', '000002.mp4']);
      expect(mp4Facts(readFileSync(join(dir, manifest.videos[0][0]))).frames).toBe(lengths[0] + 1);
      expect(mp4Facts(readFileSync(join(dir, manifest.videos[1][0]))).frames).toBe(lengths[2] + 1);
      const list = (await (await fetch(`${base}/v1/recordings`)).json()) as any;
      expect(list.recordings.map((r: any) => [r.env_id, r.instance, r.frames, r.state])).toEqual([
        ['CartPole-v1', id, lengths[2] + 1, 'ready'],
        ['CartPole-v1', id, lengths[0] + 1, 'ready'],
      ]);
      const video = await fetch(base + list.recordings[0].url, { headers: { Range: 'bytes=0-7' } });
      expect(video.status).toBe(206);
      expect(video.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await video.arrayBuffer()).toString('latin1', 4, 8)).toBe('ftyp');
      expect(list.recordings[0].bytes).toBeGreaterThan(0);
      expect(list.recordings[0].created).toBeGreaterThan(Date.now() / 1000 - 600);
    } finally {
      await rest.close();
      await s.close();
    }
  });
});
