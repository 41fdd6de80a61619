/**
 * `npm run bench`: gym-tcp against the echo ceiling (NOTES.md) in the same run, at several connection
 * counts, plus the memory of 1,000 idle connections with an env each. Servers and load generator run
 * in separate processes so they do not share a main thread. Figures are printed, not asserted.
 *
 * Then the same CartPole loop over the gym-http-api REST routes (`serve --http-port 0`) at 1 and 16 clients.
 *
 *   npm run bench -- [--seconds 3] [--connections 1,4,16,64] [--rounds 3] [--workers 4] [--idle 1000] [--rest-clients 1,16] [--ndjson]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import ndjson from 'ndjson';
import { memoryOf, spawnServer, table } from '../scripts/lib.js';
import type { ClosedLoopResult } from './closed-loop.js';

const opts = new Command('bench')
  .option('--seconds <n>', 'measured seconds per point', '3')
  .option('--connections <list>', 'connection counts', '1,4,16,64')
  .option('--rounds <n>', 'echo and gym-tcp runs per connection count, taking turns; the medians are reported', '3')
  .option('--workers <n>', 'gym-tcp worker threads', '4')
  .option('--idle <n>', 'idle connections for the memory check (0 to skip)', '1000')
  .option('--rest-clients <list>', 'REST client counts (0 to skip)', '1,16')
  .option('--ndjson', 'also print every result as a JSON line (for dashboards)')
  .parse()
  .opts();

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const seconds = Number(opts.seconds);
const connectionCounts = String(opts.connections).split(',').map(Number);
const rounds = Math.max(1, Number(opts.rounds));
const records: Record<string, unknown>[] = [];

/** Runs a load generator (load.js or rest-load.js) against a server process and returns its result line. */
function runLoad(script: string, server: { port: number; pid: number }, connections: number): Promise<ClosedLoopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here(script), String(server.port), String(connections), String(seconds), String(server.pid)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load exited ${code}`))));
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** The run with the median steps/s (the upper middle one of an even count). */
const median = (runs: ClosedLoopResult[]) => [...runs].sort((a, b) => a.stepsPerSecond - b.stepsPerSecond)[Math.floor(runs.length / 2)];
const cpu = (micros: number) => (Number.isFinite(micros) ? micros.toFixed(1) : '–');

const gym = await spawnServer(['--workers', String(opts.workers)]);
const echo = await spawnServer([], { entry: here('./echo-server.js') });
console.error(`gym-tcp (${opts.workers} workers) on port ${gym.port}, echo ceiling on port ${echo.port}; ${seconds} s per run, ${rounds} round(s) per point`);

const rows: string[][] = [];
for (const connections of connectionCounts) {
  // Echo and gym-tcp take turns, `rounds` times: a shared machine's slow spells then hit both, and
  // the median of each is reported (with the ratio of medians).
  const ceilings: ClosedLoopResult[] = [];
  const ourRuns: ClosedLoopResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    const of = rounds > 1 ? ` (round ${round} of ${rounds})` : '';
    console.error(`  ${connections} connection(s): echo${of}…`);
    ceilings.push(await runLoad('./load.js', echo, connections));
    console.error(`  ${connections} connection(s): gym-tcp${of}…`);
    ourRuns.push(await runLoad('./load.js', gym, connections));
  }
  const ceiling = median(ceilings);
  const ours = median(ourRuns);
  const ratio = ours.stepsPerSecond / ceiling.stepsPerSecond;
  // A round's two runs follow each other: the spread of their ratios shows how far the machine's noise moves it.
  const roundRatios = ourRuns.map((run, i) => run.stepsPerSecond / ceilings[i].stepsPerSecond);
  records.push({ bench: 'tcp', connections, echo: ceiling, gymTcp: ours, ratio, roundRatios, rounds: { echo: ceilings, gymTcp: ourRuns } });
  rows.push([
    String(connections),
    fmt(ceiling.stepsPerSecond),
    fmt(ours.stepsPerSecond),
    ratio.toFixed(2) + '×',
    rounds > 1 ? `${Math.min(...roundRatios).toFixed(2)}–${Math.max(...roundRatios).toFixed(2)}×` : '–',
    fmt(ours.p50us),
    fmt(ours.p99us),
    fmt(ceiling.p50us),
    cpu(ours.cpuMicrosPerStep.server),
    cpu(ceiling.cpuMicrosPerStep.server),
    `${cpu(ours.cpuMicrosPerStep.client)} / ${cpu(ceiling.cpuMicrosPerStep.client)}`,
  ]);
}
await echo.stop();

console.log(`\nCartPole-v1 steps over TCP, closed loop (one request in flight per connection); median of ${rounds} run(s) each, taking turns`);
console.log('ratio: of the medians; ratio per round: lowest–highest of each round\'s gym-tcp run over the echo run next to it');
console.log('CPU columns: CPU time per step in µs (all threads; resets included) of each server and of the load generator, which shares the machine\n');
const header = ['connections', 'echo steps/s', 'gym-tcp steps/s', 'ratio', 'ratio per round', 'gym-tcp p50 µs', 'gym-tcp p99 µs', 'echo p50 µs', 'gym-tcp CPU', 'echo CPU', 'load gen CPU (gym-tcp / echo)'];
console.log(table(header, rows));

const idle = Number(opts.idle);
if (idle > 0) {
  const before = memoryOf(gym.pid).rssKiB / 1024;
  console.error(`  opening ${idle} idle connections with an env each…`);
  const holder = spawn(process.execPath, [here('./idle.js'), String(gym.port), String(idle)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => holder.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
  await new Promise((r) => setTimeout(r, 500));
  const after = memoryOf(gym.pid).rssKiB / 1024;
  holder.stdin.end();
  records.push({ bench: 'idle-memory', connections: idle, rssBeforeMiB: before, rssAfterMiB: after });
  console.log(`\nMemory: server RSS ${before.toFixed(0)} MiB at start, ${after.toFixed(0)} MiB with ${idle} idle connections holding a CartPole env each (target < 300 MB)`);
}
await gym.stop();

const restClients = String(opts.restClients).split(',').map(Number).filter((n) => n > 0);
if (restClients.length > 0) {
  const served = await spawnServer(['--http-port', '0', '--workers', String(opts.workers)], { listening: /HTTP listening on ([^\s]*):(\d+)/ });
  const restRows: string[][] = [];
  for (const clients of restClients) {
    console.error(`  ${clients} REST client(s)…`);
    const result = await runLoad('./rest-load.js', served, clients);
    records.push({ bench: 'rest', clients, gymTcp: result });
    restRows.push([String(clients), fmt(result.stepsPerSecond), fmt(result.p50us), fmt(result.p99us), cpu(result.cpuMicrosPerStep.server)]);
  }
  await served.stop();
  console.log('\nCartPole-v1 steps over REST (gym-http-api routes, one keep-alive HTTP/1.1 connection per client, closed loop);');
  console.log("gym-http-api's Flask server did about 350 steps/s with one client\n");
  console.log(table(['clients', 'steps/s', 'p50 µs', 'p99 µs', 'server CPU µs/step'], restRows));
}

if (opts.ndjson) {
  const out = ndjson.stringify();
  out.pipe(process.stdout);
  for (const r of records) out.write(r);
  out.end();
}
