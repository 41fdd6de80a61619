/**
 * `npm run bench:live`: what rendering and the live view cost the server. A server is started as a
 * child process (`serve --http-port 0`); one closed-loop TCP agent steps CartPole-v1 for a few
 * seconds in each case:
 *
 * - `render 0`: no frames (the baseline);
 * - `render 1`: every step renders; its frame crosses to the main thread and is published, kept for
 *   `/<ID>/rendered/` at 2 frames/s;
 * - `+ 1 watcher`: a browser-like client reads the env's server-sent events (frames at up to 15/s);
 * - `+ 1 stalled watcher`: a client opens the event stream and never reads: the server's memory must
 *   not grow with the frames it cannot send.
 *
 * Printed per case: steps/s, the server's CPU (all threads) per step, its RSS at the end, and the
 * frames the watcher received. Figures are printed, not asserted.
 *
 *   npm run bench:live -- [--seconds 4] [--ndjson]
 */
import http from 'node:http';
import { Command } from 'commander';
import ndjson from 'ndjson';
import { CPP } from '../src/protocol/messages.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { spawnServer } from '../scripts/lib/spawn.js';
import { cpuMicrosOf, memoryOf } from '../scripts/lib/proc.js';
import { fmt, mib, table } from '../scripts/lib/format.js';
import { sleep } from '../scripts/lib/wait.js';

const opts = new Command('bench:live')
  .option('--seconds <n>', 'measured seconds per case', '4')
  .option('--ndjson', 'also print every result as a JSON line')
  .parse()
  .opts();
const seconds = Number(opts.seconds);

const server = await spawnServer(['--http-port', '0', '--workers', '2']);
const httpPort = Number(/HTTP listening on [^\s]+:(\d+)/.exec(await waitForOutput(/HTTP listening on [^\s]+:(\d+)/))![1]);

async function waitForOutput(pattern: RegExp): Promise<string> {
  for (let i = 0; i < 200 && !pattern.test(server.output()); i++) await sleep(25);
  return server.output();
}

const connect = () => ReplySocket.connect(server.port, server.host);

async function ask(c: ReplySocket, line: string): Promise<any> {
  c.write(line + '\r\n');
  const reply = await c.next(10_000);
  if (typeof reply === 'string') throw new Error(`no reply: ${reply}`);
  return JSON.parse(reply.toString());
}

/** An event-stream reader that counts frames; `stalled`: it never reads (its socket is paused). */
function watch(instance: string, stalled: boolean): { frames: () => number; close: () => void } {
  let frames = 0;
  const req = http.get(`http://127.0.0.1:${httpPort}/live/envs/${instance}/events`, (res) => {
    if (stalled) return void res.pause();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (frames += chunk.split('event: frame\n').length - 1));
  });
  req.on('error', () => {});
  return { frames: () => frames, close: () => req.destroy() };
}

const cases: { name: string; render: 0 | 1; watchers: number; stalled: number }[] = [
  { name: 'render 0', render: 0, watchers: 0, stalled: 0 },
  { name: 'render 1', render: 1, watchers: 0, stalled: 0 },
  { name: 'render 1 + 1 watcher', render: 1, watchers: 1, stalled: 0 },
  { name: 'render 1 + 1 stalled watcher', render: 1, watchers: 0, stalled: 1 },
];

const rows: (string | number)[][] = [];
const out = opts.ndjson ? ndjson.stringify() : null;
out?.pipe(process.stdout);
for (const k of cases) {
  const c = await connect();
  const { instance } = await ask(c, CPP.make('CartPole-v1'));
  const watchers = [...Array(k.watchers)].map(() => watch(instance, false)).concat([...Array(k.stalled)].map(() => watch(instance, true)));
  await ask(c, CPP.reset);
  const cpuBefore = cpuMicrosOf(server.pid);
  const started = performance.now();
  let steps = 0;
  for (let t = 0; performance.now() - started < seconds * 1000; t++) {
    const step = await ask(c, `{"step":{"action":${t % 2}, "render":${k.render}}}`);
    steps += 1;
    if (step.done) await ask(c, CPP.reset);
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMicrosOf(server.pid) - cpuBefore;
  const rss = memoryOf(server.pid).rssKiB;
  const received = watchers.reduce((n, w) => n + w.frames(), 0);
  for (const w of watchers) w.close();
  c.destroy();
  const result = { case: k.name, stepsPerSecond: steps / elapsed, cpuMicrosPerStep: cpu / steps, rssMiB: Number(mib(rss)), framesReceived: received };
  out?.write(result);
  rows.push([k.name, fmt(result.stepsPerSecond), fmt(result.cpuMicrosPerStep), mib(rss), k.watchers ? fmt(received) : '–']);
  await sleep(500);
}
out?.end();
console.log(`one closed-loop agent on CartPole-v1, ${seconds} s per case; server: 2 workers, its CPU over all threads`);
console.log(table(['case', 'steps/s', 'server CPU µs/step', 'server RSS MiB', 'frames to watcher'], rows));
await server.stop();
