/**
 * `npm run soak -- --minutes N [--connections 32]`: spawns `gym-tcp serve` and runs N minutes of
 * mixed load with faults injected, then prints the figures.
 *
 * Load: closed-loop and pipelined players on CartPole and a few other envs (discrete and continuous
 * actions), compression on some, episode statistics on some. Faults: garbage lines between requests,
 * abrupt disconnects in the middle of a line with replies in flight, lines over the limit, slow
 * readers that pipeline thousands of steps and stop reading for seconds, idle connections, and
 * reconnect storms. (Killing a worker thread is not possible from outside the process — the server
 * offers no hook — so ENV_LOST is covered by test/protocol.test.ts instead.)
 *
 * Every reply is checked against what its request must get. A reply is *lost* when its request was
 * sent on a connection the client did not cut, and the connection ended (or went quiet for
 * --reply-timeout seconds) without it: must be 0. A connection is *dropped* when the server closed it
 * without a reason the client knows of (LINE_TOO_LONG is one): must be 0.
 *
 *   npm run soak -- [--minutes 10] [--connections 32] [--workers 2] [--max-line-bytes 262144] [--report 30] [--seed S]
 */
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { CPP } from '../src/protocol/messages.js';
import { spawnServer } from './lib/spawn.js';
import { fdCount, memoryOf } from './lib/proc.js';
import { sleep, within } from './lib/wait.js';
import { fmt, mib, table } from './lib/format.js';
import { Rng, chooseSeed } from './lib/rng.js';
import { ReplySocket, decodeReply, errorOf } from './lib/reply-socket.js';
import { probeEnvPlaces } from './lib/env-places.js';
import { cleanEpisode } from './lib/bystander.js';

const opts = new Command('soak')
  .option('--minutes <n>', 'how long to run', '10')
  .option('--connections <n>', 'load connections at once (reconnect storms come on top)', '32')
  .option('--workers <n>', 'server worker threads', '2')
  .option('--max-line-bytes <n>', 'the server line limit; the oversize fault sends more', '262144')
  .option('--report <seconds>', 'print figures every this many seconds', '30')
  .option('--storm-every <seconds>', 'a reconnect storm this often', '20')
  .option('--storm-size <n>', 'connections per reconnect storm', '200')
  .option('--reply-timeout <seconds>', 'a reply not received after this long counts as lost', '30')
  .option('--seed <n>', 'PRNG seed (printed)')
  .option('--kill-worker-every <seconds>', 'terminate one server worker thread this often (0: never)', '60')
  .parse()
  .opts();

const minutes = Number(opts.minutes);
const seed = chooseSeed(opts.seed);
const maxLineBytes = Number(opts.maxLineBytes);
const replyTimeoutMs = Number(opts.replyTimeout) * 1000;

// ---------------------------------------------------------------------------------------------

const stats = {
  requestsSent: 0,
  silentSent: 0,
  repliesExpected: 0,
  repliesReceived: 0,
  okReplies: 0,
  /** Silent requests known to be served: a later request on the same connection was answered. */
  silentConfirmed: 0,
  errorsByCode: {} as Record<string, number>,
  stepReplies: 0,
  wrongReplies: 0,
  wrongSamples: [] as string[],
  connectionsOpened: 0,
  connectFailures: 0,
  closedByClient: 0,
  closedByServerExpected: 0,
  dropped: 0,
  droppedSamples: [] as string[],
  repliesLost: 0,
  repliesAbandoned: 0,
  stalls: 0,
  faults: { garbage: 0, abrupt: 0, oversize: 0, slowReaders: 0, idle: 0, storms: 0, stormConnections: 0 },
  behaviours: {} as Record<string, number>,
  maxStepLatencyMs: 0,
};

class Dead extends Error {}

interface Want {
  kind: 'instance' | 'observation' | 'info' | 'sample' | 'url' | 'error';
  codes?: string[];
  compressed: boolean;
  silentBefore: number;
  step?: boolean;
  line: string;
}

/** One load connection: sends requests, knows what each must get, accounts for every reply. */
class SoakConn {
  readonly outstanding: Want[] = [];
  compression = 0;
  silentSinceLast = 0;
  expectClose = false;
  dead = false;
  lastDone = false;

  private constructor(readonly rs: ReplySocket) {}

  static async open(port: number, host: string): Promise<SoakConn> {
    try {
      const rs = await ReplySocket.connect(port, host);
      stats.connectionsOpened += 1;
      return new SoakConn(rs);
    } catch (err) {
      stats.connectFailures += 1;
      throw new Dead(`connect: ${(err as Error).message}`);
    }
  }

  /** Sends a line; `want` null for a silent request that succeeds. */
  send(line: string | Buffer, want: Omit<Want, 'compressed' | 'silentBefore' | 'line'> | null, terminator = '\r\n'): void {
    if (this.dead) throw new Dead('send on a dead connection');
    stats.requestsSent += 1;
    const text = typeof line === 'string' ? line : line.toString('latin1');
    if (want === null) {
      stats.silentSent += 1;
      this.silentSinceLast += 1;
      const level = /"compression": "(\d)"/.exec(text);
      if (level) this.compression = Number(level[1]);
    } else {
      stats.repliesExpected += 1;
      this.outstanding.push({ ...want, compressed: want.kind === 'instance' ? false : this.compression > 0, silentBefore: this.silentSinceLast, line: text.slice(0, 80) });
      this.silentSinceLast = 0;
      if (want.kind === 'instance') this.compression = 0;
    }
    this.rs.write(Buffer.concat([Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from(terminator)]));
  }

  /** Reads and checks the next reply. */
  async read(): Promise<Record<string, unknown>> {
    const want = this.outstanding[0];
    if (!want) throw new Error('read with nothing outstanding');
    const t0 = performance.now();
    const raw = await this.rs.next(replyTimeoutMs);
    if (raw === 'closed' || raw === 'timeout') {
      this.#lose(raw);
      throw new Dead(raw);
    }
    this.outstanding.shift();
    stats.repliesReceived += 1;
    stats.silentConfirmed += want.silentBefore;
    let value: Record<string, unknown>;
    let compressed: boolean;
    try {
      const decoded = decodeReply(raw);
      compressed = decoded.compressed;
      value = decoded.value as Record<string, unknown>;
    } catch (err) {
      this.#wrong(want, `unreadable: ${(err as Error).message}`);
      return {};
    }
    const error = errorOf(value);
    if (error) stats.errorsByCode[error.code] = (stats.errorsByCode[error.code] ?? 0) + 1;
    else stats.okReplies += 1;
    if (compressed !== want.compressed) this.#wrong(want, `compressed ${compressed}, expected ${want.compressed}`);
    if (want.kind === 'error') {
      if (!error || (want.codes && !want.codes.includes(error.code))) this.#wrong(want, `expected ${want.codes?.join('/') ?? 'an error'}, got ${JSON.stringify(value).slice(0, 120)}`);
    } else if (error) {
      if (!(want.codes ?? []).includes(error.code)) this.#wrong(want, `got ${error.code}: ${error.message.slice(0, 120)}`);
    } else if (!(want.kind in value)) {
      this.#wrong(want, `expected "${want.kind}", got ${JSON.stringify(value).slice(0, 120)}`);
    }
    if (want.step && !error) {
      stats.stepReplies += 1;
      stats.maxStepLatencyMs = Math.max(stats.maxStepLatencyMs, performance.now() - t0);
      this.lastDone = value.done === true;
    }
    return value;
  }

  async readAll(): Promise<void> {
    while (this.outstanding.length > 0) await this.read();
  }

  /** Ends cleanly once every reply is in. */
  async close(): Promise<void> {
    if (this.dead) return;
    await this.readAll();
    this.dead = true;
    await this.rs.end();
    if (this.rs.queued > 0) {
      stats.wrongReplies += this.rs.queued;
      stats.wrongSamples.push(`${this.rs.queued} unexpected extra repl(ies) at the end of a connection`);
    }
    stats.closedByClient += 1;
  }

  /** Cuts the connection, whatever is in flight (a fault we inject: those replies are abandoned, not lost). */
  cut(reset: boolean): void {
    if (this.dead) return;
    this.dead = true;
    stats.repliesAbandoned += this.outstanding.length;
    this.outstanding.length = 0;
    this.rs.destroy(reset);
    stats.closedByClient += 1;
  }

  /** After LINE_TOO_LONG the server closes: wait for it. */
  async expectServerClose(): Promise<void> {
    this.expectClose = true;
    await this.readAll();
    const closed = await within(this.rs.closed, 10_000);
    this.dead = true;
    if (closed) stats.closedByServerExpected += 1;
    else {
      stats.wrongReplies += 1;
      stats.wrongSamples.push('the server did not close after LINE_TOO_LONG');
      this.rs.destroy();
    }
  }

  #lose(why: 'closed' | 'timeout'): void {
    this.dead = true;
    const n = this.outstanding.length;
    if (why === 'timeout') {
      stats.stalls += 1;
      this.rs.destroy();
    } else if (!this.expectClose) {
      stats.dropped += 1;
      if (stats.droppedSamples.length < 10) stats.droppedSamples.push(`after ${this.outstanding[0]?.line ?? '?'} with ${n} outstanding`);
    }
    stats.repliesLost += n;
    this.outstanding.length = 0;
  }

  #wrong(want: Want, problem: string): void {
    stats.wrongReplies += 1;
    if (stats.wrongSamples.length < 20) stats.wrongSamples.push(`${want.line} → ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Players

const ENVS = ['CartPole-v1', 'CartPole-v1', 'CartPole-v1', 'CartPole-v0', 'MountainCar-v0', 'Acrobot-v1', 'FrozenLake-v1', 'Taxi-v4', 'Pendulum-v1', 'MountainCarContinuous-v0', 'Blackjack-v1', 'CliffWalking-v1'];

interface Space {
  name: string;
  n?: number;
  start?: number;
  low?: number[];
  high?: number[];
}

function actionFor(space: Space, rng: Rng): string {
  if (space.name === 'Discrete') return String((space.start ?? 0) + rng.int(space.n ?? 2));
  const low = space.low ?? [-1];
  const high = space.high ?? [1];
  return '[' + low.map((lo, i) => (lo + rng.next() * (high[i] - lo)).toFixed(6)).join(', ') + ']';
}

/** A fresh connection with an env made, maybe compression and statistics, seeded and reset. */
async function setup(port: number, host: string, rng: Rng): Promise<{ conn: SoakConn; space: Space }> {
  const conn = await SoakConn.open(port, host);
  conn.send(CPP.make(rng.pick(ENVS)), { kind: 'instance' });
  conn.send(CPP.actionSpace, { kind: 'info' });
  await conn.read();
  const space = (await conn.read()).info as Space;
  if (rng.chance(0.3)) conn.send(CPP.compression(rng.range(1, 9)), null);
  if (rng.chance(0.3)) conn.send(CPP.recordStats, null);
  conn.send(CPP.seed(rng.u32()), null);
  conn.send(CPP.reset, { kind: 'observation' });
  await conn.read();
  return { conn, space };
}

/** A step here never fails: every env was reset first and actions are drawn from its action space. */
const STEP_ERRORS: string[] = [];

async function closedLoop(port: number, host: string, rng: Rng, deadline: number): Promise<void> {
  const { conn, space } = await setup(port, host, rng);
  for (let i = rng.range(100, 3000); i > 0 && Date.now() < deadline; i--) {
    if (rng.chance(0.02)) conn.send(CPP.sample, { kind: 'sample' });
    conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
    await conn.readAll();
    if (conn.lastDone) {
      conn.send(CPP.reset, { kind: 'observation' });
      await conn.read();
    }
  }
  if (rng.chance(0.3)) {
    conn.send(CPP.close, null);
    conn.send(CPP.url, { kind: 'url' });
  }
  await conn.close();
}

async function pipelined(port: number, host: string, rng: Rng, deadline: number, garbage: boolean): Promise<void> {
  const { conn, space } = await setup(port, host, rng);
  for (let b = rng.range(5, 60); b > 0 && Date.now() < deadline; b--) {
    const k = rng.range(16, 256);
    for (let i = 0; i < k; i++) {
      if (garbage && rng.chance(0.1)) sendGarbage(conn, rng);
      else if (rng.chance(0.01)) conn.send(CPP.reset, { kind: 'observation' });
      else conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
    }
    await conn.readAll();
    if (conn.lastDone) conn.send(CPP.reset, { kind: 'observation' });
  }
  await conn.close();
}

/** Lines that must be answered with an error (and change nothing). */
function sendGarbage(conn: SoakConn, rng: Rng): void {
  stats.faults.garbage += 1;
  const r = rng.int(8);
  const noNewline = (b: Buffer) => Buffer.from(b.map((x) => (x === 10 || x === 13 ? 0x20 : x)));
  switch (r) {
    case 0:
      return conn.send(Buffer.concat([Buffer.from('#'), noNewline(rng.bytes(rng.range(1, 100)))]), { kind: 'error', codes: ['BAD_JSON', 'BAD_ENCODING'] });
    case 1:
      return conn.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { kind: 'error', codes: ['BAD_ENCODING'] });
    case 2:
      return conn.send('', { kind: 'error', codes: ['EMPTY_LINE'] });
    case 3:
      return conn.send('{"bogus": 1}', { kind: 'error', codes: ['UNKNOWN_COMMAND'] });
    case 4:
      return conn.send('{"env":{"action": "dance"}}', { kind: 'error', codes: ['BAD_REQUEST'] });
    case 5:
      return conn.send(CPP.make('Nope-v0'), { kind: 'error', codes: ['UNKNOWN_ENV'] });
    case 6:
      return conn.send('{"step":{"action":"not an action"}}', { kind: 'error', codes: ['INVALID_ACTION'] });
    default:
      return conn.send('[' + '['.repeat(rng.range(1, 5000)) + ']'.repeat(5000), { kind: 'error', codes: ['BAD_JSON'] });
  }
}

async function abrupt(port: number, host: string, rng: Rng): Promise<void> {
  stats.faults.abrupt += 1;
  const { conn, space } = await setup(port, host, rng);
  for (let i = rng.range(0, 200); i > 0; i--) conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
  // Half a line, then gone.
  const partial = CPP.step(actionFor(space, rng));
  conn.rs.write(partial.slice(0, rng.int(partial.length)));
  await sleep(rng.int(20));
  conn.cut(rng.chance(0.5));
}

async function oversize(port: number, host: string, rng: Rng): Promise<void> {
  stats.faults.oversize += 1;
  const { conn, space } = await setup(port, host, rng);
  for (let i = rng.range(0, 50); i > 0; i--) conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
  conn.send('{"step":{"action": "' + 'x'.repeat(maxLineBytes + rng.range(10, 10_000)) + '"}}', { kind: 'error', codes: ['LINE_TOO_LONG'] });
  conn.rs.write(CPP.url + '\r\n'); // after the long line: never read by the server
  await conn.expectServerClose();
}

async function slowReader(port: number, host: string, rng: Rng): Promise<void> {
  stats.faults.slowReaders += 1;
  const { conn, space } = await setup(port, host, rng);
  conn.rs.socket.pause();
  for (let i = rng.range(2000, 8000); i > 0; i--) conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
  await sleep(rng.range(2000, 6000));
  conn.rs.socket.resume();
  await conn.close();
}

async function idle(port: number, host: string, rng: Rng, deadline: number): Promise<void> {
  stats.faults.idle += 1;
  const { conn, space } = await setup(port, host, rng);
  await sleep(Math.min(rng.range(3000, 10_000), Math.max(0, deadline - Date.now())));
  conn.send(CPP.step(actionFor(space, rng)), { kind: 'observation', step: true, codes: STEP_ERRORS });
  await conn.close();
}

async function storm(port: number, host: string, rng: Rng, size: number): Promise<void> {
  stats.faults.storms += 1;
  await Promise.all(
    Array.from({ length: size }, async () => {
      stats.faults.stormConnections += 1;
      try {
        const conn = await SoakConn.open(port, host);
        conn.send(CPP.make(rng.pick(ENVS)), { kind: 'instance' });
        conn.send(CPP.reset, { kind: 'observation' });
        if (rng.chance(0.2)) conn.cut(rng.chance(0.5));
        else await conn.close();
      } catch (err) {
        if (!(err instanceof Dead)) throw err;
      }
    }),
  );
}

async function slot(index: number, port: number, host: string, deadline: number): Promise<void> {
  const rng = new Rng(seed, index + 1);
  while (Date.now() < deadline) {
    const r = rng.next();
    const name = r < 0.3 ? 'closed-loop' : r < 0.55 ? 'pipelined' : r < 0.68 ? 'pipelined+garbage' : r < 0.8 ? 'abrupt' : r < 0.84 ? 'oversize' : r < 0.92 ? 'slow-reader' : 'idle';
    stats.behaviours[name] = (stats.behaviours[name] ?? 0) + 1;
    try {
      if (name === 'closed-loop') await closedLoop(port, host, rng, deadline);
      else if (name === 'pipelined') await pipelined(port, host, rng, deadline, false);
      else if (name === 'pipelined+garbage') await pipelined(port, host, rng, deadline, true);
      else if (name === 'abrupt') await abrupt(port, host, rng);
      else if (name === 'oversize') await oversize(port, host, rng);
      else if (name === 'slow-reader') await slowReader(port, host, rng);
      else await idle(port, host, rng, deadline);
    } catch (err) {
      if (!(err instanceof Dead)) throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------

const connections = Number(opts.connections);
// A small env limit (still well above what the load holds at once), so that leaked environments can
// be counted from outside at the end.
const maxEnvs = Math.min(900, 2 * (connections + Number(opts.stormSize)) + 64);
const killEvery = Number(opts.killWorkerEvery);
const server = await spawnServer(
  ['--workers', String(opts.workers), '--max-line-bytes', String(maxLineBytes), '--max-envs', String(maxEnvs)],
  // Killing a worker needs a hook inside the server process: the fault-server harness has one.
  { entry: killEvery > 0 ? fileURLToPath(new URL('./fault-server.js', import.meta.url)) : undefined },
);
console.log(
  `soak: gym-tcp pid ${server.pid} on port ${server.port} (${opts.workers} workers, --max-line-bytes ${maxLineBytes}); ` +
    `${minutes} min, ${connections} connections, a storm of ${opts.stormSize} every ${opts.stormEvery} s, --max-envs ${maxEnvs}; seed ${seed}`,
);
console.log(
  killEvery > 0
    ? `  a worker thread is terminated every ${killEvery} s (through the fault-server harness); its sessions must be rebuilt unnoticed`
    : '  worker kills are off (--kill-worker-every 0)',
);
let workersKilled = 0;
server.child.on('message', (m) => m === 'killed' && workersKilled++);
const killer = killEvery > 0 ? setInterval(() => server.child.send?.('kill-worker'), killEvery * 1000) : null;

const started = Date.now();
const deadline = started + minutes * 60_000;
const startMem = memoryOf(server.pid);
let peakRssKiB = startMem.rssKiB;
let peakFds = fdCount(server.pid);
const sampler = setInterval(() => {
  if (!server.alive()) return;
  peakRssKiB = Math.max(peakRssKiB, memoryOf(server.pid).rssKiB);
  peakFds = Math.max(peakFds, fdCount(server.pid));
}, 1000);
let lastReport = { at: started, steps: 0, replies: 0 };
const report = () => {
  const now = Date.now();
  const mem = server.alive() ? memoryOf(server.pid) : null;
  if (mem) peakRssKiB = Math.max(peakRssKiB, mem.rssKiB);
  const stepsPerSecond = ((stats.stepReplies - lastReport.steps) * 1000) / Math.max(1, now - lastReport.at);
  const repliesPerSecond = ((stats.repliesReceived - lastReport.replies) * 1000) / Math.max(1, now - lastReport.at);
  lastReport = { at: now, steps: stats.stepReplies, replies: stats.repliesReceived };
  const errors = Object.values(stats.errorsByCode).reduce((a, b) => a + b, 0);
  console.log(
    `  ${((now - started) / 1000).toFixed(0).padStart(5)} s  requests ${fmt(stats.requestsSent).padStart(10)}  replies ${fmt(stats.repliesReceived).padStart(10)} ` +
      `(${fmt(repliesPerSecond)}/s)  steps/s ${fmt(stepsPerSecond).padStart(6)}  errors ${fmt(errors)}  wrong ${stats.wrongReplies}  ` +
      `dropped ${stats.dropped}  lost ${stats.repliesLost}  stalls ${stats.stalls}  workers killed ${workersKilled}  ` +
      `RSS ${mem ? mib(mem.rssKiB) : 'GONE'} MiB (peak ${mib(peakRssKiB)})  fds ${server.alive() ? fdCount(server.pid) : '-'}`,
  );
};
const reporter = setInterval(report, Number(opts.report) * 1000);

const stormRng = new Rng(seed, 0);
const storms = (async () => {
  for (let next = started + Number(opts.stormEvery) * 1000; next < deadline; next += Number(opts.stormEvery) * 1000) {
    await sleep(Math.max(0, next - Date.now()));
    if (Date.now() < deadline) await storm(server.port, server.host, stormRng, Number(opts.stormSize));
  }
})();

await Promise.all([...Array.from({ length: connections }, (_, i) => slot(i, server.port, server.host, deadline)), storms]);
clearInterval(reporter);
if (killer) clearInterval(killer);
report();
clearInterval(sampler);

const alive = server.alive();
const episode = alive ? await cleanEpisode(server.port, server.host, seed).catch((err: Error) => ({ steps: 0, episodes: 0, mismatches: [err.message], maxLatencyMs: 0 })) : null;
await sleep(1000);
const places = alive ? await probeEnvPlaces(server.port, server.host, maxEnvs) : null;
const endMem = alive ? memoryOf(server.pid) : null;
const endFds = alive ? fdCount(server.pid) : null;
peakRssKiB = Math.max(peakRssKiB, endMem?.hwmKiB ?? 0);
const exitCode = await server.stop('SIGTERM');
const seconds = (Date.now() - started) / 1000;

const requestsServed = stats.repliesReceived + stats.silentConfirmed;
console.log('\n' + table(['figure', 'value'], [
  ['minutes', (seconds / 60).toFixed(1)],
  ['requests sent', fmt(stats.requestsSent)],
  ['requests served (replies + confirmed silent)', fmt(requestsServed)],
  ['replies expected / received', `${fmt(stats.repliesExpected)} / ${fmt(stats.repliesReceived)}`],
  ['replies ok / errors', `${fmt(stats.okReplies)} / ${fmt(stats.repliesReceived - stats.okReplies)}`],
  ['replies abandoned by injected disconnects', fmt(stats.repliesAbandoned)],
  ['worker threads killed (sessions rebuilt)', fmt(workersKilled)],
  ['replies LOST (must be 0)', fmt(stats.repliesLost)],
  ['wrong replies (must be 0)', fmt(stats.wrongReplies)],
  ['stalls (no reply within timeout)', fmt(stats.stalls)],
  ['connections opened', fmt(stats.connectionsOpened)],
  ['closed by client / by server after LINE_TOO_LONG', `${fmt(stats.closedByClient)} / ${fmt(stats.closedByServerExpected)}`],
  ['connections DROPPED by the server (must be 0)', fmt(stats.dropped)],
  ['connect failures', fmt(stats.connectFailures)],
  ['steps / s (mean)', fmt(stats.stepReplies / seconds)],
  ['max closed-loop step latency ms', stats.maxStepLatencyMs.toFixed(1)],
  ['server RSS start / peak / end MiB', `${mib(startMem.rssKiB)} / ${mib(peakRssKiB)} / ${endMem ? mib(endMem.rssKiB) : '-'}`],
  ['server fds peak / end', `${peakFds} / ${endFds ?? '-'}`],
  ['server alive at the end; clean episode', `${alive ? 'yes' : 'NO'}; ${episode ? (episode.mismatches.length ? 'MISMATCH' : `${episode.steps} steps, identical to the reference`) : '-'}`],
  ['environments leaked (places free under --max-envs at the end)', places ? `${maxEnvs - places.free} (${places.free}/${maxEnvs})` : '-'],
  ['exit status after SIGTERM', String(exitCode)],
]));
console.log('\n' + table(['error code', 'replies'], Object.entries(stats.errorsByCode).sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, fmt(n)])));
console.log('\n' + table(['behaviour / fault', 'count'], [
  ...Object.entries(stats.behaviours).map(([k, n]) => [k, fmt(n)]),
  ['garbage lines', fmt(stats.faults.garbage)],
  ['reconnect storms (connections)', `${stats.faults.storms} (${fmt(stats.faults.stormConnections)})`],
]));
if (stats.wrongSamples.length) console.log('\nWRONG REPLIES:\n' + stats.wrongSamples.map((s) => '  ' + s).join('\n'));
if (stats.droppedSamples.length) console.log('\nDROPPED:\n' + stats.droppedSamples.map((s) => '  ' + s).join('\n'));

const failed = !places || places.free !== maxEnvs || stats.repliesLost > 0 || stats.dropped > 0 || stats.wrongReplies > 0 || !alive || !episode || episode.mismatches.length > 0 || exitCode !== 0;
console.log(failed ? '\nFAILED' : '\nOK: no reply lost, no connection dropped, every reply as expected');
process.exit(failed ? 1 : 0);
