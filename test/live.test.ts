/**
 * The live view's server side over real HTTP, a real TCP agent and real worker threads: the directory
 * of envs over both fronts, frames pushed as server-sent events, gym-server's `/<ID>/rendered/` and
 * `render.html`, the token rule, and an env going away. (The page itself, in Chromium: live-browser.test.ts.)
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestServer } from '../src/http/rest-server.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { decodePng } from '../src/render/png.js';
import { RawClient, startServer } from './helpers.js';
import { sleep, until } from '../scripts/lib/wait.js';
import { LiveEnvs } from '../src/live/live-envs.js';

let server: GymTcpServer;
let rest: RestServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ workers: 2 });
  rest = await RestServer.listen(server.pool, { port: 0 });
  base = `http://127.0.0.1:${rest.address().port}`;
});
afterAll(async () => {
  await rest.close();
  await server.close();
});

/** Waits for `condition` (see `until`), failing the test after `timeoutMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  expect(await until(condition, timeoutMs), `still not true after ${timeoutMs} ms: ${condition}`).toBe(true);
}

/** A TCP agent on CartPole-v1: `episodes` episodes of alternating actions, every step rendered. */
async function runAgent(c: RawClient, episodes: number, render = 1): Promise<number[]> {
  const returns: number[] = [];
  for (let e = 0; e < episodes; e++) {
    await c.ask(CPP.reset);
    let total = 0;
    for (let t = 0; ; t++) {
      const step = await c.ask(`{"step":{"action":${t % 3 === 0 ? 0 : 1}, "render":${render}}}`);
      total += step.reward;
      if (step.done) break;
    }
    returns.push(total);
  }
  return returns;
}

/** Distinct RGB colours in a decoded frame: a blank frame has one. */
function colours(image: { data: Uint8Array; channels: number }): number {
  const seen = new Set<number>();
  for (let i = 0; i < image.data.length; i += image.channels) seen.add((image.data[i] << 16) | (image.data[i + 1] << 8) | image.data[i + 2]);
  return seen.size;
}

interface SseEvent {
  event: string;
  data: any;
}

/** An open event stream: its events as they come, and the response's status and headers. */
class EventStream {
  readonly events: SseEvent[] = [];
  ended = false;
  #buffer = '';
  constructor(
    readonly res: http.IncomingMessage,
    readonly req: http.ClientRequest,
  ) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let end = this.#buffer.indexOf('\n\n'); end >= 0; end = this.#buffer.indexOf('\n\n')) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data !== undefined) this.events.push({ event, data: JSON.parse(data) });
      }
    });
    res.on('end', () => (this.ended = true));
  }

  static open(path: string, headers: Record<string, string> = {}): Promise<EventStream> {
    return new Promise((resolve, reject) => {
      const req = http.get(base + path, { headers }, (res) => resolve(new EventStream(res, req)));
      req.on('error', reject);
    });
  }

  of(event: string): any[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data);
  }

  close(): void {
    this.req.destroy();
  }
}

describe('the live view, server side', () => {
  it('lists the envs alive now over both fronts, with steps, episodes and the last return', async () => {
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const returns = await runAgent(c, 3, 0);
    const made = await fetch(base + '/v1/envs/', { method: 'POST', body: JSON.stringify({ env_id: 'FrozenLake-v1' }) });
    const restId = ((await made.json()) as { instance_id: string }).instance_id;

    const { envs } = (await (await fetch(base + '/live/envs')).json()) as { envs: any[] };
    const tcp = envs.find((e) => e.instance === instance);
    expect(tcp).toMatchObject({ env_id: 'CartPole-v1', front: 'tcp', episodes: 3, last_return: returns[2] });
    expect(tcp.steps).toBe(returns.reduce((a, b) => a + b, 0));
    expect(envs.find((e) => e.instance === restId)).toMatchObject({ env_id: 'FrozenLake-v1', front: 'rest', steps: 0, episodes: 0, last_return: null });

    // Closed (TCP `close`, REST close): gone from the list.
    c.send(CPP.close + '\r\n');
    await fetch(base + `/v1/envs/${restId}/close/`, { method: 'POST' });
    await c.ask(CPP.make('CartPole-v1')); // a reply after the close: the close was handled
    const after = (await (await fetch(base + '/live/envs')).json()) as { envs: any[] };
    expect(after.envs.map((e) => e.instance)).not.toContain(instance);
    expect(after.envs.map((e) => e.instance)).not.toContain(restId);
    await c.end();
  });

  it('pushes a watched env’s frames (PNGs of its rendered steps) and its returns as server-sent events', async () => {
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const stream = await EventStream.open(`/live/envs/${instance}/events`);
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toMatch(/^text\/event-stream/);
    const returns = await runAgent(c, 4);
    await waitFor(() => stream.of('frame').length > 0 && stream.of('state').some((s) => s.episodes === 4), 5000);

    expect(stream.of('env')[0]).toEqual({ instance, env_id: 'CartPole-v1', front: 'tcp' });
    const frame = stream.of('frame').at(-1);
    const image = decodePng(Buffer.from(frame.png, 'base64'));
    expect([image.width, image.height, frame.width, frame.height]).toEqual([600, 400, 600, 400]);
    expect(colours(image)).toBeGreaterThan(10); // the cart, the pole, the track: not a blank canvas
    // Rate-limited: far fewer frames than rendered steps, in order.
    const frames = stream.of('frame');
    const rendered = returns.reduce((a, b) => a + b, 0);
    expect(frames.length).toBeLessThan(rendered);
    expect(frames.map((f) => f.n)).toEqual([...frames.map((f) => f.n)].sort((a, b) => a - b));
    const plotted = stream.of('state').flatMap((s) => s.returns);
    expect(plotted).toEqual(returns);
    console.log(`live stream: ${rendered} rendered steps, ${frames.length} frames pushed (${(frame.png.length * 0.75 / 1024).toFixed(1)} KB each)`);

    // The env closes: `gone`, and the stream ends.
    c.send(CPP.close + '\r\n');
    await waitFor(() => stream.ended, 5000);
    expect(stream.events.at(-1)?.event).toBe('gone');
    await c.end();
  });

  it("serves gym-server's /<ID>/rendered/ (latest.png and <n>.png) and render.html", async () => {
    const made = await fetch(base + '/v1/envs/', { method: 'POST', body: JSON.stringify({ env_id: 'CartPole-v1', seed: 1 }) });
    const id = ((await made.json()) as { instance_id: string }).instance_id;
    let listing = await fetch(base + `/${id}/rendered/`);
    expect(listing.status).toBe(200);
    expect(await (await fetch(base + `/${id}/rendered/latest.png`)).json()).toEqual({ message: expect.stringContaining('render') });

    await fetch(base + `/v1/envs/${id}/reset/`, { method: 'POST' });
    for (let i = 0; i < 5; i++) await fetch(base + `/v1/envs/${id}/step/`, { method: 'POST', body: JSON.stringify({ action: 1, render: true }) });
    await waitFor(async () => (await fetch(base + `/${id}/rendered/latest.png`)).status === 200, 5000);

    const latest = await fetch(base + `/${id}/rendered/latest.png`);
    expect(latest.headers.get('content-type')).toBe('image/png');
    const image = decodePng(new Uint8Array(await latest.arrayBuffer()));
    expect([image.width, image.height]).toEqual([600, 400]);
    expect(colours(image)).toBeGreaterThan(10);

    listing = await fetch(base + `/${id}/rendered/`);
    const names = [...(await listing.text()).matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(names[0]).toBe('latest.png');
    const numbered = names.filter((n) => /^\d+\.png$/.test(n));
    expect(numbered.length).toBeGreaterThan(0);
    const first = await fetch(base + `/${id}/rendered/${numbered[0]}`);
    expect(first.status).toBe(200);
    expect(decodePng(new Uint8Array(await first.arrayBuffer())).width).toBe(600);
    expect((await fetch(base + `/${id}/rendered/99999.png`)).status).toBe(404);
    expect((await fetch(base + `/nosuchenv/rendered/`)).status).toBe(404);

    const page = await fetch(base + `/render.html?instance_id=${id}`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/rendered/latest.png');
    await fetch(base + `/v1/envs/${id}/close/`, { method: 'POST' });
    // The env's frames go with it (once the pool has read the close's result: a moment, not at once).
    await waitFor(async () => (await fetch(base + `/${id}/rendered/latest.png`)).status === 404, 5000);
  });

  it('serves the page and its script; an unknown env’s stream is a 404', async () => {
    const page = await fetch(base + '/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/live/live.js');
    const script = await fetch(base + '/live/live.js');
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('EventSource');
    expect((await fetch(base + '/live/nope.js')).status).toBe(404);
    const head = await fetch(base + '/live/envs/nope/events', { method: 'HEAD' });
    expect(head.status).toBe(404);
    const unknown = await fetch(base + '/live/envs/nope/events');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toContain('alive');
  });

  it('follows the REST token rule: the page and the stream need the token (HTTP Basic, as a browser sends it)', async () => {
    const locked = await RestServer.listen(server.pool, { port: 0, authToken: 's3cret' });
    const at = `http://127.0.0.1:${locked.address().port}`;
    try {
      for (const path of ['/', '/live/envs', '/live/live.js', '/render.html']) {
        const refused = await fetch(at + path);
        expect(refused.status, path).toBe(401);
        expect(refused.headers.get('www-authenticate')).toContain('Basic');
      }
      const basic = 'Basic ' + Buffer.from('viewer:s3cret').toString('base64');
      expect((await fetch(at + '/', { headers: { Authorization: basic } })).status).toBe(200);
      expect((await fetch(at + '/live/envs', { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200);
    } finally {
      await locked.close();
    }
  });

  it('a browser that stops reading costs the server one waiting frame, not every frame since', async () => {
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const reader = await EventStream.open(`/live/envs/${instance}/events`);
    // A client that sends its request and never reads: once the socket buffers are full, the server's
    // writes to it would pile up in memory if the stream did not hold back.
    const stalled = net.connect(rest.address().port, '127.0.0.1');
    stalled.write(`GET /live/envs/${instance}/events HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    await until(() => reader.of('env').length > 0, 2000);
    // Frames as the producer publishes them, of noise (incompressible: ~720 KB each as PNG, ~1 MB as
    // an event), 60 at the watched rate: ~60 MB to a client that keeps up.
    const bus = LiveEnvs.of(server.pool).frames;
    for (let i = 0; i < 60; i++) {
      bus.publish({ instance, envId: 'CartPole-v1', episode: 0, step: i, frame: { width: 600, height: 400, data: randomBytes(600 * 400 * 3) } });
      await sleep(1000 / 15);
    }
    // Generous: the PNG encoding of noise frames shares the machine with the recorder's encoder and other test files.
    await waitFor(() => reader.of('frame').length >= 20, 30_000);
    const pushed = reader.of('frame').length;
    const eventBytes = reader.of('frame')[0].png.length;
    // Now it reads: what reaches it is what the kernel buffered plus at most one waiting frame.
    let received = 0;
    stalled.on('data', (chunk: Buffer) => (received += chunk.length));
    stalled.resume();
    await sleep(1500);
    stalled.destroy();
    console.log(`stalled client: ${pushed} frames of ~${(eventBytes / 1e6).toFixed(2)} MB pushed to a reader meanwhile; the stalled one got ${(received / 1e6).toFixed(1)} MB once it read`);
    expect(received).toBeLessThan((pushed * eventBytes) / 2);
    reader.close();
    await c.end();
  }, 60_000);

  it('ends its event streams when the server closes, without waiting for the drain timeout', async () => {
    const other = await RestServer.listen(server.pool, { port: 0, drainTimeoutMs: 20_000 });
    const c = await RawClient.connect(server);
    const { instance } = await c.ask(CPP.make('CartPole-v1'));
    const stream = await new Promise<EventStream>((resolve, reject) => {
      const req = http.get(`http://127.0.0.1:${other.address().port}/live/envs/${instance}/events`, (res) => resolve(new EventStream(res, req)));
      req.on('error', reject);
    });
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => stream.ended, 2000);
    await c.end();
  });
});
