/**
 * `npm run bench:recording`: what videos cost, and that they cost the other clients nothing.
 *
 * 1. Encoding: frames/s of one encoder thread (real CartPole frames, H.264 at the recorder's settings).
 * 2. A 500-step rendered CartPole-v1 episode over TCP: time from the reply to its last step to the
 *    whole video received from its `url` link.
 * 3. Memory: the server's RSS growth over a 10,000-step rendered CliffWalking episode (`-render`,
 *    every step a 720×240 frame to the encoder), closed loop and pipelined.
 * 4. Bystanders: step latency of a client that renders nothing, alone and beside clients that render
 *    every step of many envs (one env per connection).
 *
 * Servers are child processes (`gym-tcp serve`); figures are printed, not asserted.
 *
 *   npm run bench:recording -- [--seconds 3] [--renderers 200] [--no-render] [--ndjson]
 *   (GYM_TCP_BENCH_SKIP=encode,episode,memory skips those parts, for a brief run of one)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import ndjson from 'ndjson';
import { loadEnvSpecs, makeEnv } from '../src/envs/registry.js';
import { EnvRunner } from '../src/envs/runner.js';
import { CPP } from '../src/protocol/messages.js';
import { EncoderPool } from '../src/recording/encoder-pool.js';
import { fmt, mib } from '../scripts/lib/format.js';
import { memoryOf } from '../scripts/lib/proc.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { spawnServer } from '../scripts/lib/spawn.js';

const opts = new Command('bench:recording')
  .option('--seconds <n>', 'measured seconds per bystander figure', '3')
  .option('--renderers <n>', 'connections rendering every step beside the bystander', '200')
  .option('--ndjson', 'also print every result as a JSON line')
  .option('--no-render', 'the other connections step without rendering (the baseline for the bystander figure)')
  .option('--render-load <port>', '(internal) be the rendering clients, in a process of their own, until killed')
  .parse()
  .opts();

if (opts.renderLoad) {
  // The rendering clients run in a process of their own, so that the bystander's latency is the
  // server's doing, not its load generator's event loop.
  const port = Number(opts.renderLoad);
  const steps = async (c: ReplySocket, line: string) => {
    c.write(line + '\r\n');
    const raw = await c.next(60_000);
    if (typeof raw === 'string') throw new Error(raw);
    return JSON.parse(raw.toString());
  };
  let rendered = 0;
  setInterval(() => process.send?.(rendered), 250);
  await Promise.all(
    Array.from({ length: Number(opts.renderers) }, async () => {
      const c = await ReplySocket.connect(port);
      await steps(c, CPP.make(opts.render ? 'CartPole-v1-render' : 'CartPole-v1'));
      await steps(c, CPP.reset);
      for (;;) {
        const reply = await steps(c, CPP.step('1', opts.render ? 1 : 0));
        rendered += 1;
        if (reply.done) await steps(c, CPP.reset);
      }
    }),
  );
}
const out = opts.ndjson ? ndjson.stringify() : null;
out?.pipe(process.stdout);
const emit = (result: Record<string, unknown>) => out?.write(result);
const dir = mkdtempSync(join(tmpdir(), 'gym-tcp-bench-rec-'));
const skip = (process.env.GYM_TCP_BENCH_SKIP ?? '').split(',');

// 1. One encoder's frames/s.
if (!skip.includes('encode')) {
  await loadEnvSpecs();
  const { spec, env } = makeEnv('CartPole-v1');
  const runner = new EnvRunner(spec, env);
  runner.reset();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    if (runner.step(i % 2).terminated) runner.reset();
    frames.push((runner.render('rgb_array') as { data: Uint8Array }).data.slice());
  }
  const pool = new EncoderPool(1, 1);
  for (const [label, count] of [['warm-up', 50], ['measured', 1000]] as const) {
    const t0 = performance.now();
    const stream = pool.start(600, 400, 50, join(dir, `${label}.mp4`));
    let encoded = 0;
    stream.port.on('message', () => encoded++);
    for (let i = 0; i < count; i++) {
      const rgb = frames[i % frames.length].slice();
      stream.port.postMessage({ rgb, width: 600, height: 400 }, [rgb.buffer]);
      // As the recorder does: a few frames in flight, never the whole episode.
      while (encoded < i - 8) await new Promise((r) => setImmediate(r));
    }
    stream.port.postMessage({ end: true });
    const done = await stream.done;
    stream.port.close();
    const seconds = (performance.now() - t0) / 1000;
    if (label === 'measured') {
      console.log(`encoding: ${fmt(done.frames / seconds)} CartPole frames/s on one encoder thread (600×400 → H.264 yuv420p), ${fmt(done.bytes / done.frames)} bytes a frame`);
      emit({ bench: 'encode', framesPerSecond: done.frames / seconds, bytesPerFrame: done.bytes / done.frames });
    }
  }
  await pool.close();
}

const ask = async (c: ReplySocket, line: string): Promise<any> => {
  c.write(line + '\r\n');
  const raw = await c.next(30_000);
  if (typeof raw === 'string') throw new Error(`no reply to ${line}: ${raw}`);
  return JSON.parse(raw.toString());
};

const server = await spawnServer(['--workers', '2', '--recordings-dir', dir]);
try {
  // 2. Last step → video served.
  if (!skip.includes('episode')) {
    const c = await ReplySocket.connect(server.port, server.host);
    await ask(c, CPP.make('CartPole-v1'));
    c.write(`${CPP.seed(1)}\r\n`);
    let obs = (await ask(c, CPP.reset)).observation as number[];
    let steps = 0;
    let reply: any;
    do {
      // The textbook controller (angle and angular velocity) keeps the pole up for all 500 steps.
      reply = await ask(c, CPP.step(obs[2] + obs[3] > 0 ? '1' : '0', 1));
      obs = reply.observation;
      steps += 1;
    } while (!reply.done);
    const lastStep = performance.now();
    const { url } = await ask(c, CPP.url);
    const video = Buffer.from(await (await fetch(url)).arrayBuffer());
    const ms = performance.now() - lastStep;
    console.log(`episode → video: ${steps}-step rendered CartPole-v1 episode, its last step's reply to the whole video received: ${ms.toFixed(0)} ms (${fmt(video.length)} bytes)`);
    emit({ bench: 'episode-to-video', steps, ms, bytes: video.length });
    await c.end();
  }

  // 3. Memory over a 10,000-step rendered episode.
  for (const mode of skip.includes('memory') ? [] : (['closed loop', 'pipelined 100 at a time'] as const)) {
    const c = await ReplySocket.connect(server.port, server.host);
    await ask(c, CPP.make('CliffWalking-v1-render'));
    await ask(c, CPP.reset);
    for (let i = 0; i < 100; i++) await ask(c, CPP.step('0'));
    const before = memoryOf(server.pid).rssKiB;
    let peak = before;
    const t0 = performance.now();
    for (let done = 100; done < 10_000; ) {
      const batch = mode === 'closed loop' ? 1 : 100;
      c.write(`${CPP.step('0')}\r\n`.repeat(batch));
      for (let k = 0; k < batch; k++) if (typeof (await c.next(30_000)) === 'string') throw new Error('no reply');
      done += batch;
      if (done % 500 === 0) peak = Math.max(peak, memoryOf(server.pid).rssKiB);
    }
    const seconds = (performance.now() - t0) / 1000;
    c.write(`${CPP.close}\r\n`);
    const { url } = await ask(c, CPP.url);
    const video = Buffer.from(await (await fetch(url)).arrayBuffer());
    console.log(
      `memory: 10,000-step rendered CliffWalking episode (${mode}): server RSS ${mib(before)} MiB after 100 steps, ` +
        `peak ${mib(peak)} MiB over the other 9,900 (+${mib(peak - before)} MiB); ${fmt(9_900 / seconds)} rendered steps/s; video ${fmt(video.length)} bytes`,
    );
    emit({ bench: 'memory', mode, beforeKiB: before, peakKiB: peak, stepsPerSecond: 9_900 / seconds, videoBytes: video.length });
    await c.end();
  }

  // 4. A bystander's latency, alone and beside renderers.
  const bystander = async (seconds: number) => {
    const c = await ReplySocket.connect(server.port, server.host);
    await ask(c, CPP.make('CartPole-v1'));
    await ask(c, CPP.reset);
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const t0 = performance.now();
      const reply = await ask(c, CPP.step('1'));
      latencies.push((performance.now() - t0) * 1000);
      if (reply.done) await ask(c, CPP.reset);
    }
    await c.end();
    latencies.sort((a, b) => a - b);
    return { steps: latencies.length, p50: latencies[latencies.length >> 1], p99: latencies[Math.floor(latencies.length * 0.99)] };
  };
  const seconds = Number(opts.seconds);
  const alone = await bystander(seconds);
  const load = fork(fileURLToPath(import.meta.url), ['--render-load', String(server.port), '--renderers', String(opts.renderers), ...(opts.render ? [] : ['--no-render'])], { stdio: 'inherit' });
  let rendered = 0;
  load.on('message', (n) => (rendered = n as number));
  await new Promise((r) => setTimeout(r, 2000));
  const renderedBefore = rendered;
  const t0 = performance.now();
  const beside = await bystander(seconds);
  const renderedPerSecond = (rendered - renderedBefore) / ((performance.now() - t0) / 1000);
  load.kill();
  const us = (x: number) => fmt(x);
  console.log(`bystander (renders nothing), alone:                          ${fmt(alone.steps / seconds)} steps/s, p50 ${us(alone.p50)} µs, p99 ${us(alone.p99)} µs`);
  console.log(
    `bystander beside ${opts.renderers} connections ${opts.render ? 'rendering every step' : 'stepping, rendering nothing'}: ${fmt(beside.steps / seconds)} steps/s, p50 ${us(beside.p50)} µs, p99 ${us(beside.p99)} µs ` +
      `(they made ${fmt(renderedPerSecond)} steps/s)`,
  );
  emit({ bench: 'bystander', alone, beside, renderers: Number(opts.renderers), renderedPerSecond });
  console.log(`server RSS at the end: ${mib(memoryOf(server.pid).rssKiB)} MiB (high-water mark ${mib(memoryOf(server.pid).hwmKiB)} MiB)`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
  out?.end();
}
