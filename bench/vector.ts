/**
 * `npm run bench -- --vector`: vector envs over TCP (docs/vector.md). For CartPole-v1 and Pendulum-v1
 * at several `num_envs`, one connection and four, JSON and base64, sync `step` and `send`/`recv`: the
 * env-steps per second and the bytes per env-step on the wire, beside the in-process figure of the
 * same TypeScript envs stepped in a plain loop on one thread (the limit the protocol is measured
 * against). Then the memory of 100,000 sub-envs, and the latency of a single-env client while a big
 * vector env runs. The server runs in its own process; the load generator here only frames replies
 * (it does not parse them: the figure is the server's). Figures are printed, not asserted.
 *
 *   npm run bench -- --vector [--seconds 1] [--num-envs 16,256,4096] [--connections 1,4] [--workers 2] [--shard-size 1024] [--memory 100000] [--ndjson]
 *
 * `--shard-size 0` keeps every vector env on one worker thread (the server's --vector-shard-size).
 */
import net from 'node:net';
import { Command } from 'commander';
import { makeEnv, loadEnvSpecs } from '../src/envs/registry.js';
import { Session } from '../src/protocol/session.js';
import { fmt, mib, table } from '../scripts/lib/format.js';
import { cpuMicrosOf, memoryOf } from '../scripts/lib/proc.js';
import { spawnServer } from '../scripts/lib/spawn.js';

const opts = new Command('bench --vector')
  .option('--vector', 'this bench')
  .option('--seconds <n>', 'measured seconds per point', '1')
  .option('--envs <list>', 'env ids', 'CartPole-v1,Pendulum-v1')
  .option('--num-envs <list>', 'sub-envs per vector env', '16,256,4096')
  .option('--connections <list>', 'connections, each with its own vector env', '1,4')
  .option('--workers <n>', 'gym-tcp worker threads', '2')
  .option('--shard-size <n>', 'the server\'s --vector-shard-size: vector envs of twice this many sub-envs are split over the workers (0: never)', '1024')
  .option('--memory <n>', 'sub-envs held for the memory figure (0 to skip)', '100000')
  .option('--ndjson', 'also print every result as a JSON line')
  .allowUnknownOption()
  .parse()
  .opts();

const seconds = Number(opts.seconds);
const list = (s: string) => String(s).split(',').filter(Boolean);
const TERMINATOR = Buffer.from('\r\n\r\n');

/** A connection that counts replies and their bytes without parsing them (the first ones it parses). */
class Counter {
  readonly socket: net.Socket;
  bytesIn = 0;
  #tail = Buffer.alloc(0);
  #chunks: Buffer[] = [];
  #waiters: ((reply: Buffer | null) => void)[] = [];
  #keep: boolean[] = [];

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<Counter> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Counter(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a line; resolves with the reply's bytes when `keep`, else null, once it has come. */
  ask(line: string, keep = false): Promise<Buffer | null> {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#keep.push(keep);
      this.socket.write(line + '\r\n');
    });
  }

  async json(line: string): Promise<any> {
    const reply = JSON.parse((await this.ask(line, true))!.toString());
    if (reply.error) throw new Error(`${line.slice(0, 80)}: ${reply.error.code} ${reply.error.message}`);
    return reply;
  }

  #onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    let from = 0;
    // A terminator split between the bytes before this chunk and its first ones.
    if (this.#tail.length > 0) {
      const i = Buffer.concat([this.#tail, chunk.subarray(0, 3)]).indexOf(TERMINATOR);
      if (i !== -1) {
        const cut = this.#tail.length - i;
        this.#finish(null, cut);
        from = 4 - cut;
      }
    }
    for (let end = chunk.indexOf(TERMINATOR, from); end !== -1; end = chunk.indexOf(TERMINATOR, from)) {
      this.#finish(chunk.subarray(from, end), 0);
      from = end + 4;
    }
    const rest = chunk.subarray(from);
    if (rest.length > 0) {
      this.#chunks.push(rest);
      const joined = Buffer.concat([this.#tail, rest]);
      this.#tail = Buffer.from(joined.subarray(Math.max(0, joined.length - 3)));
    }
  }

  /** A reply ended: the bytes kept so far plus `last`, without the `cut` terminator bytes already kept. */
  #finish(last: Buffer | null, cut: number): void {
    const keep = this.#keep.shift()!;
    let reply: Buffer | null = null;
    if (keep) {
      const all = Buffer.concat(last ? [...this.#chunks, last] : this.#chunks);
      reply = all.subarray(0, all.length - cut);
    }
    this.#chunks = [];
    this.#tail = Buffer.alloc(0);
    this.#waiters.shift()!(reply);
  }

  end(): void {
    this.socket.end();
  }
}

/** Action lines for `n` sub-envs, a few different ones to cycle through. */
function actionBatches(envId: string, n: number, encoding: string, ids: number[] | null): string[] {
  return Array.from({ length: 4 }, (_, k) => {
    let seed = 12345 + k;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let actions: unknown;
    if (envId.startsWith('CartPole')) {
      const a = Array.from({ length: n }, () => (rand() < 0.5 ? 0 : 1));
      actions = encoding === 'base64' ? { dtype: 'uint8', shape: [n], data: Buffer.from(a).toString('base64') } : a;
    } else {
      const a = Float32Array.from({ length: n }, () => rand() * 4 - 2);
      actions = encoding === 'base64' ? { dtype: 'float32', shape: [n, 1], data: Buffer.from(a.buffer).toString('base64') } : Array.from(a, (x) => [Number(x.toFixed(3))]);
    }
    return ids ? JSON.stringify({ vector: { send: { actions, env_ids: ids } } }) : JSON.stringify({ vector: { step: { actions } } });
  });
}

interface Point {
  envSteps: number;
  bytes: number;
  seconds: number;
  /** CPU seconds the server process used (all its threads): on a shared machine a steadier figure than wall time. */
  serverCpuSeconds: number;
}

async function runPoint(serverPid: number, port: number, envId: string, n: number, connections: number, encoding: string, mode: 'step' | 'send/recv'): Promise<Point> {
  const conns = await Promise.all(Array.from({ length: connections }, () => Counter.connect(port)));
  await Promise.all(
    conns.map(async (c, i) => {
      await c.json(JSON.stringify({ vector: { make: { name: envId, num_envs: n, encoding } } }));
      await c.json(JSON.stringify({ vector: { reset: { seed: String(i) } } }));
    }),
  );
  const ids = mode === 'send/recv' ? Array.from({ length: n }, (_, i) => i) : null;
  const lines = actionBatches(envId, n, encoding, ids);
  const recv = '{"vector":{"recv":{}}}';
  let envSteps = 0;
  let bytesOut = 0;
  const bytesIn0 = conns.reduce((a, c) => a + c.bytesIn, 0);
  const cpu0 = cpuMicrosOf(serverPid);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    conns.map(async (c) => {
      for (let k = 0; performance.now() < deadline; k++) {
        const line = lines[k % lines.length];
        if (ids) {
          // send is silent: send and recv leave together, one reply comes.
          c.socket.write(line + '\r\n');
          await c.ask(recv);
          bytesOut += line.length + recv.length + 4;
        } else {
          await c.ask(line);
          bytesOut += line.length + 2;
        }
        envSteps += n;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const serverCpuSeconds = (cpuMicrosOf(serverPid) - cpu0) / 1e6;
  const bytes = bytesOut + conns.reduce((a, c) => a + c.bytesIn, 0) - bytesIn0;
  for (const c of conns) c.end();
  return { envSteps, bytes, seconds: elapsed, serverCpuSeconds };
}

/** The same envs stepped in a plain loop on this thread: the in-process limit (wall time, and env-steps per CPU second). */
function inProcess(envId: string, n: number): { wall: number; perCpu: number } {
  const envs = Array.from({ length: n }, (_, i) => {
    const { spec, env } = makeEnv(envId, {});
    env.reset();
    void i;
    return { env, limit: spec.maxEpisodeSteps ?? Infinity, t: 0 };
  });
  const cart = envId.startsWith('CartPole');
  const actions = Array.from({ length: 1024 }, (_, i) => (cart ? (i * 7919) % 2 : [((i * 7919) % 400) / 100 - 2]));
  let steps = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  for (let k = 0; performance.now() < deadline; k++) {
    for (let i = 0; i < n; i++) {
      const e = envs[i];
      const r = e.env.step(actions[(k + i) & 1023]);
      if (r.terminated || ++e.t >= e.limit) {
        e.env.reset();
        e.t = 0;
      }
    }
    steps += n;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: steps / ((performance.now() - t0) / 1000), perCpu: steps / ((cpu.user + cpu.system) / 1e6) };
}

/**
 * What a worker does per vector step, without the wire: a Session on this thread handling the step
 * lines (parse, decode, step, encode), in env-steps per CPU second. The TCP figure's ceiling per core.
 */
function sessionPerCpu(envId: string, n: number, encoding: string): number {
  const session = new Session({ urlBase: '', compression: 0, lastInstance: null, lost: false });
  session.handle(JSON.stringify({ vector: { make: { name: envId, num_envs: n, encoding } } }));
  session.handle('{"vector":{"reset":{"seed": "0"}}}');
  const lines = actionBatches(envId, n, encoding, null);
  let steps = 0;
  const cpu0 = process.cpuUsage();
  const deadline = performance.now() + seconds * 1000;
  for (let k = 0; performance.now() < deadline; k++) {
    session.handle(lines[k % lines.length]);
    steps += n;
  }
  const cpu = process.cpuUsage(cpu0);
  session.close();
  return steps / ((cpu.user + cpu.system) / 1e6);
}

/** Round-trip latencies of a single CartPole client, stepping for `seconds`. */
async function singleLatencies(port: number): Promise<number[]> {
  const c = await Counter.connect(port);
  await c.json('{"env":{"name": "CartPole-v1"}}');
  await c.json('{"env":{"action": "reset"}}');
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const t = performance.now();
    const reply = JSON.parse((await c.ask('{"step":{"action":1, "render":0}}', true))!.toString());
    latencies.push(performance.now() - t);
    if (reply.done) await c.ask('{"env":{"action": "reset"}}');
  }
  c.end();
  return latencies.sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

await loadEnvSpecs();
const workers = String(opts.workers);
const memoryTarget = Number(opts.memory);
const server = await spawnServer(['--workers', workers, '--vector-shard-size', String(opts.shardSize), '--max-envs', String(Math.max(1_000_000, memoryTarget * 2)), '--max-num-envs', String(Math.max(100_000, memoryTarget))]);
console.error(`gym-tcp (${workers} workers, vector shards of ${opts.shardSize}+ sub-envs) on port ${server.port}; ${seconds} s per point; load generator in this process`);
const rows: (string | number)[][] = [];
const sessionRows: (string | number)[][] = [];
const records: Record<string, unknown>[] = [];
for (const envId of list(opts.envs)) {
  for (const n of list(opts.numEnvs).map(Number)) {
    const local = inProcess(envId, n);
    for (const encoding of ['json', 'base64']) {
      const perCpu = sessionPerCpu(envId, n, encoding);
      sessionRows.push([envId, n, encoding, fmt(perCpu), fmt(local.perCpu), (perCpu / local.perCpu).toFixed(2)]);
      records.push({ envId, numEnvs: n, encoding, sessionEnvStepsPerCpuSecond: perCpu, loopEnvStepsPerCpuSecond: local.perCpu });
    }
    for (const connections of list(opts.connections).map(Number)) {
      for (const encoding of ['json', 'base64']) {
        for (const mode of ['step', 'send/recv'] as const) {
          const p = await runPoint(server.pid, server.port, envId, n, connections, encoding, mode);
          const rate = p.envSteps / p.seconds;
          const perCpu = p.envSteps / p.serverCpuSeconds;
          rows.push([envId, n, connections, encoding, mode, fmt(rate), (p.bytes / p.envSteps).toFixed(1), fmt(perCpu), fmt(local.wall), (rate / local.wall).toFixed(2), (perCpu / local.perCpu).toFixed(2)]);
          records.push({ envId, numEnvs: n, connections, encoding, mode, envStepsPerSecond: rate, bytesPerEnvStep: p.bytes / p.envSteps, envStepsPerServerCpuSecond: perCpu, inProcess: local });
          console.error(rows.at(-1)!.join('  '));
        }
      }
    }
  }
}
console.log(
  table(['env', 'num_envs', 'conns', 'encoding', 'mode', 'env-steps/s', 'bytes/env-step', 'per server CPU-s', 'in-process loop/s', 'ratio', 'CPU ratio'], rows),
);
console.log(
  '\nenv-steps/s: wall clock over TCP; per server CPU-s: env-steps per second of CPU the server process (main thread and workers) used; ' +
    'in-process loop: the same TypeScript envs stepped in a plain loop on one thread of this process; ratio: env-steps/s over the loop; ' +
    'CPU ratio: per server CPU-s over the loop\'s env-steps per CPU second.',
);
console.log('\nThe worker\'s share without the wire: a Session on one thread handling vector step lines, per CPU second, against the plain loop per CPU second:\n');
console.log(table(['env', 'num_envs', 'encoding', 'session env-steps/CPU-s', 'loop env-steps/CPU-s', 'ratio'], sessionRows));

// A single-env client's latency, alone and while one connection steps 4,096 CartPoles (base64).
const alone = await singleLatencies(server.port);
const big = await Counter.connect(server.port);
await big.json(JSON.stringify({ vector: { make: { name: 'CartPole-v1', num_envs: 4096, encoding: 'base64' } } }));
await big.json('{"vector":{"reset":{"seed": "0"}}}');
let running = true;
const bigLines = actionBatches('CartPole-v1', 4096, 'base64', null);
let bigSteps = 0;
const hammer = (async () => {
  for (let k = 0; running; k++) {
    await big.ask(bigLines[k % 4]);
    bigSteps += 4096;
  }
})();
const t0 = performance.now();
const beside = await singleLatencies(server.port);
running = false;
await hammer;
const bigRate = bigSteps / ((performance.now() - t0) / 1000);
big.end();
console.log(
  `\nsingle-env CartPole client, round trip: alone p50 ${pct(alone, 0.5).toFixed(3)} ms, p99 ${pct(alone, 0.99).toFixed(3)} ms; ` +
    `beside a 4,096-CartPole vector env stepping (${fmt(bigRate)} env-steps/s): p50 ${pct(beside, 0.5).toFixed(3)} ms, p99 ${pct(beside, 0.99).toFixed(3)} ms, max ${beside.at(-1)!.toFixed(1)} ms`,
);
records.push({ latency: { aloneP50: pct(alone, 0.5), aloneP99: pct(alone, 0.99), besideP50: pct(beside, 0.5), besideP99: pct(beside, 0.99), bigRate } });

if (memoryTarget > 0) {
  await new Promise((r) => setTimeout(r, 500));
  const before = memoryOf(server.pid).rssKiB;
  const per = Math.min(25_000, memoryTarget);
  const holders: Counter[] = [];
  const t = performance.now();
  for (let held = 0; held < memoryTarget; held += per) {
    const c = await Counter.connect(server.port);
    await c.json(JSON.stringify({ vector: { make: { name: 'CartPole-v1', num_envs: Math.min(per, memoryTarget - held), encoding: 'base64' } } }));
    await c.json('{"vector":{"reset":{"seed": "0"}}}');
    holders.push(c);
  }
  const after = memoryOf(server.pid).rssKiB;
  console.log(
    `\n${fmt(memoryTarget)} CartPole sub-envs in ${holders.length} vector envs (made and reset in ${((performance.now() - t) / 1000).toFixed(1)} s): ` +
      `server RSS ${mib(after)} MiB (${mib(before)} MiB before, ${((after - before) * 1024 / memoryTarget).toFixed(0)} bytes per sub-env)`,
  );
  records.push({ memory: { subEnvs: memoryTarget, rssKiB: after, rssBeforeKiB: before } });
  for (const c of holders) c.end();
}
if (opts.ndjson) for (const r of records) console.log(JSON.stringify(r));
await server.stop();
