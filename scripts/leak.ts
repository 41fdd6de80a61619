/**
 * `npm run leak -- --cycles 100000`: spawns `gym-tcp serve` and runs N connect/make/reset/disconnect
 * cycles with modest concurrency, sampling the server's RSS, open file descriptors and threads (from
 * /proc/<pid>) at the start, every 10 % and at the end after a short settle; prints them and flags
 * growth. Exits 1 when something did not return to its baseline.
 *
 * Environments held by the workers cannot be read from outside the process, so the server runs with
 * a small --max-envs (twice the concurrency, plus a margin) and, at the end, as many connections as
 * that limit each make an env: every one must succeed. An env leaked by the cycles takes a place and
 * shows up as a TOO_MANY_ENVS there (and, once the places run out, in the cycles themselves).
 *
 * Disconnects: most cycles end cleanly after their replies, some cut the connection (FIN or RST)
 * after them. `--abrupt P` makes a share P of the cycles send their make and disconnect at once,
 * without waiting for the reply — the way crashing clients do.
 *
 * Memory: V8 grows its heaps over the first tens of thousands of cycles (to ~60 MiB above the
 * baseline here, then level) and does not give it back, and RSS cannot be read after a GC from
 * outside. So RSS is flagged when it grew more than 64 MiB plus 256 bytes per cycle: a leaked
 * session or env (kilobytes each) over 100,000 cycles is far above that; warm-up is not.
 *
 *   npm run leak -- [--cycles 100000] [--concurrency 32] [--workers 2] [--abrupt 0] [--settle 2]
 *                   [--envs CartPole-v1,FrozenLake-v1,Acrobot-v1]
 */
import { Command } from 'commander';
import { CPP } from '../src/protocol/messages.js';
import { spawnServer } from './lib/spawn.js';
import { fdCount, memoryOf } from './lib/proc.js';
import { sleep } from './lib/wait.js';
import { fmt, mib, table } from './lib/format.js';
import { Rng, chooseSeed } from './lib/rng.js';
import { ReplySocket, decodeReply, errorOf } from './lib/reply-socket.js';
import { probeEnvPlaces } from './lib/env-places.js';

const opts = new Command('leak')
  .option('--cycles <n>', 'connect/make/reset/disconnect cycles', '100000')
  .option('--concurrency <n>', 'cycles at once', '32')
  .option('--workers <n>', 'server worker threads', '2')
  .option('--abrupt <share>', 'share of cycles that disconnect right after sending make, without waiting for the reply', '0')
  .option('--settle <seconds>', 'wait before the baseline and final samples', '2')
  .option('--max-envs <n>', 'the server env limit (default: twice the concurrency plus 16)')
  .option('--envs <ids>', 'environments the cycles make, in turn at random', 'CartPole-v1,CartPole-v1,FrozenLake-v1,Acrobot-v1')
  .option('--seed <n>', 'PRNG seed')
  .parse()
  .opts();

const cycles = Number(opts.cycles);
const RSS_WARMUP_ALLOWANCE_KIB = 64 * 1024;
const RSS_PER_CYCLE_ALLOWANCE_BYTES = 256;
const concurrency = Number(opts.concurrency);
const abruptShare = Number(opts.abrupt);
const settleMs = Number(opts.settle) * 1000;
const maxEnvs = Number(opts.maxEnvs ?? 2 * concurrency + 16);
const seed = chooseSeed(opts.seed);
const ENVS = String(opts.envs).split(',');

const server = await spawnServer(['--workers', String(opts.workers), '--max-envs', String(maxEnvs)]);
console.log(
  `leak: gym-tcp pid ${server.pid} on port ${server.port} (${opts.workers} workers, --max-envs ${maxEnvs}); ` +
    `${fmt(cycles)} cycles, ${concurrency} at once, ${(abruptShare * 100).toFixed(0)} % abrupt; seed ${seed}`,
);

const counts = { done: 0, ok: 0, abrupt: 0, tooManyEnvs: 0, failed: 0, failures: [] as string[] };

async function cycle(i: number, rng: Rng): Promise<void> {
  let c: ReplySocket;
  try {
    c = await ReplySocket.connect(server.port, server.host);
  } catch (err) {
    counts.failed += 1;
    if (counts.failures.length < 10) counts.failures.push(`cycle ${i}: connect: ${(err as Error).message}`);
    return;
  }
  const env = rng.pick(ENVS);
  if (rng.chance(abruptShare)) {
    c.write(CPP.make(env) + '\r\n');
    if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
    c.destroy(rng.chance(0.5));
    await c.closed;
    counts.abrupt += 1;
    return;
  }
  c.write(`${CPP.make(env)}\r\n${CPP.reset}\r\n`);
  let problem: string | null = null;
  for (const want of ['instance', 'observation']) {
    const raw = await c.next(30_000);
    if (typeof raw === 'string') {
      problem = `no ${want} reply (${raw})`;
      break;
    }
    const value = decodeReply(raw).value as Record<string, unknown>;
    const error = errorOf(value);
    if (error?.code === 'TOO_MANY_ENVS') {
      counts.tooManyEnvs += 1;
      problem = 'TOO_MANY_ENVS';
      break;
    }
    if (!(want in value)) {
      problem = `expected ${want}, got ${JSON.stringify(value).slice(0, 120)}`;
      break;
    }
  }
  if (problem === null) counts.ok += 1;
  else if (problem !== 'TOO_MANY_ENVS') {
    counts.failed += 1;
    if (counts.failures.length < 10) counts.failures.push(`cycle ${i}: ${problem}`);
  }
  const r = rng.next();
  if (problem !== null || r < 0.7) await c.end();
  else {
    c.destroy(r > 0.9);
    await c.closed;
  }
}

async function run(n: number, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      const rng = new Rng(seed, lane + 1 + n);
      while (next < n) {
        const i = next++;
        await cycle(i, rng);
        counts.done += 1;
        onProgress?.(i);
      }
    }),
  );
}

interface Sample {
  label: string;
  cycles: number;
  seconds: number;
  rssKiB: number;
  fds: number;
  threads: number;
  tooManyEnvs: number;
  failed: number;
}
const samples: Sample[] = [];
const started = Date.now();
const sample = (label: string, cyclesDone: number) => {
  const mem = memoryOf(server.pid);
  const s = { label, cycles: cyclesDone, seconds: (Date.now() - started) / 1000, rssKiB: mem.rssKiB, fds: fdCount(server.pid), threads: mem.threads, tooManyEnvs: counts.tooManyEnvs, failed: counts.failed };
  samples.push(s);
  console.log(
    `  ${label.padEnd(9)} cycles ${fmt(cyclesDone).padStart(8)}  ${s.seconds.toFixed(1).padStart(7)} s  RSS ${mib(s.rssKiB).padStart(7)} MiB  ` +
      `fds ${String(s.fds).padStart(4)}  threads ${String(s.threads).padStart(3)}  TOO_MANY_ENVS ${s.tooManyEnvs}  failed ${s.failed}`,
  );
};

// Warm-up (pools, JIT, lazily loaded envs), then the baseline once everything has settled.
await run(Math.max(200, Math.min(2000, Math.round(cycles / 10))));
counts.done = counts.ok = counts.abrupt = 0;
await sleep(settleMs);
sample('baseline', 0);

const marks = new Set(Array.from({ length: 9 }, (_, k) => Math.round(((k + 1) * cycles) / 10)));
const t0 = Date.now();
await run(cycles, () => {
  if (marks.has(counts.done)) {
    marks.delete(counts.done);
    sample(`${Math.round((counts.done * 100) / cycles)} %`, counts.done);
  }
});
const runSeconds = (Date.now() - t0) / 1000;
sample('100 %', cycles);
await sleep(settleMs);
sample('settled', cycles);

// Every place under --max-envs must be free again: fill them all.
const probe = await probeEnvPlaces(server.port, server.host, maxEnvs);
const probeOk = probe.free;
const probeRefused = probe.refused;
const alive = server.alive();
const exitCode = await server.stop('SIGTERM');

const base = samples[0];
const end = samples[samples.length - 1];
const rssGrowthKiB = end.rssKiB - base.rssKiB;
const flags: string[] = [];
if (end.fds > base.fds + 5) flags.push(`file descriptors grew ${base.fds} → ${end.fds}`);
if (end.threads !== base.threads) flags.push(`threads ${base.threads} → ${end.threads}`);
const mid = samples.find((x) => x.label === '50 %') ?? base;
const secondHalfKiB = end.rssKiB - mid.rssKiB;
const allowanceKiB = RSS_WARMUP_ALLOWANCE_KIB + (RSS_PER_CYCLE_ALLOWANCE_BYTES * cycles) / 1024;
if (rssGrowthKiB > allowanceKiB) {
  flags.push(`RSS grew ${mib(base.rssKiB)} → ${mib(mid.rssKiB)} (half way) → ${mib(end.rssKiB)} MiB: more than the ${mib(allowanceKiB)} MiB allowed for heap warm-up`);
}
if (probeOk !== maxEnvs) flags.push(`environments leaked: only ${probeOk} of the ${maxEnvs} places under --max-envs were free at the end (${probeRefused} TOO_MANY_ENVS)`);
if (counts.tooManyEnvs > 0) flags.push(`${counts.tooManyEnvs} cycles were refused TOO_MANY_ENVS with at most ${concurrency} connections open (limit ${maxEnvs})`);
if (counts.failed > 0) flags.push(`${counts.failed} cycles failed: ${counts.failures.join('; ')}`);
if (!alive || exitCode !== 0) flags.push(`server alive at the end: ${alive}; exit status after SIGTERM ${exitCode}`);

console.log('\n' + table(
  ['sample', 'cycles', 's', 'RSS MiB', 'fds', 'threads'],
  samples.map((s) => [s.label, fmt(s.cycles), s.seconds.toFixed(1), mib(s.rssKiB), s.fds, s.threads]),
));
console.log(
  `\n${fmt(cycles)} cycles in ${runSeconds.toFixed(1)} s (${fmt(cycles / runSeconds)}/s): ${fmt(counts.ok)} complete, ${fmt(counts.abrupt)} abrupt, ` +
    `${counts.tooManyEnvs} TOO_MANY_ENVS, ${counts.failed} failed; RSS ${rssGrowthKiB >= 0 ? '+' : ''}${mib(rssGrowthKiB)} MiB ` +
    `(second half ${secondHalfKiB >= 0 ? '+' : ''}${mib(secondHalfKiB)}), ` +
    `fds ${end.fds - base.fds >= 0 ? '+' : ''}${end.fds - base.fds}; env places free at the end ${probeOk}/${maxEnvs}`,
);
console.log(flags.length ? '\nFLAGGED:\n' + flags.map((f) => '  - ' + f).join('\n') : '\nOK: connections, file descriptors, threads, memory and environments returned to their baseline');
process.exit(flags.length ? 1 : 0);
