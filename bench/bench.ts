/**
 * `npm run bench`: gym-tcp against the echo ceiling (docs/performance.md, "How the bench measures") in the same run, at several connection
 * counts, plus the memory of 1,000 idle connections with an env each. Servers and load generator run
 * in separate processes so they do not share a main thread. Figures are printed, not asserted.
 *
 * Then the same CartPole loop over the gym-http-api REST routes (`serve --http-port 0`) at 1 and 16 clients.
 *
 * The servers run on one half of the cores and the load generator on the other (Linux, taskset), the
 * way the old Python server was pinned for its best figure (docs/performance.md, "Baselines"): sharing two cores, three busy threads
 * (load generator, main thread, worker) are placed anew by the scheduler each run, and the placement,
 * not the server, decides the figure (16 connections: 30,000–55,000 steps/s for one build). --no-pin
 * shares every core.
 *
 * With --scrape-hz, each round also runs gym-tcp with a Prometheus-like scraper fetching /metrics
 * (on --health-port) that often, right next to the unscraped run: the cost of being scraped.
 *
 * `npm run bench -- --vector` runs bench/vector.ts instead.
 *
 *   npm run bench -- [--seconds 3] [--connections 1,4,16,64] [--rounds 5] [--workers 4] [--no-pin] [--idle 1000] [--rest-clients 1,16] [--scrape-hz 1] [--ndjson]
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import ndjson from 'ndjson';
import { nodeCommand, spawnServer } from '../scripts/lib/spawn.js';
import { memoryOf } from '../scripts/lib/proc.js';
import { table } from '../scripts/lib/format.js';
import { allowedCpus } from '../src/pool/spare-cpu.js';
import type { ClosedLoopResult } from './closed-loop.js';

// `npm run bench -- --vector`: the vector env bench (bench/vector.ts) instead of this one.
if (process.argv.includes('--vector')) {
  await import('./vector.js');
  process.exit(0);
}

const opts = new Command('bench')
  .option('--seconds <n>', 'measured seconds per point', '3')
  .option('--connections <list>', 'connection counts', '1,4,16,64')
  .option('--rounds <n>', 'echo and gym-tcp runs per connection count, taking turns; the medians are reported', '5')
  .option('--workers <n>', 'gym-tcp worker threads', '4')
  .option('--no-pin', 'let the servers and the load generator share every core (default: servers on the first half of the cores, load generator on the rest, with taskset, where there is taskset and 2+ cores)')
  .option('--idle <n>', 'idle connections for the memory check (0 to skip)', '1000')
  .option('--rest-clients <list>', 'REST client counts (0 to skip)', '1,16')
  .option('--scrape-hz <n>', 'also run gym-tcp scraped for /metrics this many times a second, next to each unscraped run (0: not)', '0')
  .option('--ndjson', 'also print every result as a JSON line (for dashboards)')
  .parse()
  .opts();

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const seconds = Number(opts.seconds);
const connectionCounts = String(opts.connections).split(',').map(Number);
const rounds = Math.max(1, Number(opts.rounds));
const records: Record<string, unknown>[] = [];
const pin = opts.pin ? splitCores() : { server: undefined, load: undefined };

/** The cores for the servers and for the load generator, as taskset lists (none: they share every core). */
function splitCores(): { server?: string; load?: string } {
  const cpus = allowedCpus();
  const why =
    cpus.length < 2 ? `this process may use ${cpus.length} core` : spawnSync('taskset', ['--version']).status !== 0 ? 'there is no taskset (util-linux)' : null;
  if (why) {
    console.error(`not pinning (${why}): servers and load generator share the cores, and figures vary more from run to run`);
    return {};
  }
  const half = Math.ceil(cpus.length / 2);
  return { server: cpus.slice(0, half).join(','), load: cpus.slice(half).join(',') };
}

/** Runs a load generator (load.js or rest-load.js) against a server process and returns its result line. */
function runLoad(script: string, server: { port: number; pid: number }, connections: number): Promise<ClosedLoopResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...nodeCommand([here(script), String(server.port), String(connections), String(seconds), String(server.pid)], pin.load), {
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

const scrapeHz = Number(opts.scrapeHz);
const gym = await spawnServer(['--workers', String(opts.workers), ...(scrapeHz > 0 ? ['--health-port', '0'] : [])], { cpus: pin.server });
const metricsUrl = scrapeHz > 0 ? `http://127.0.0.1:${/health checks on [^\s]*:(\d+)/.exec(gym.output())![1]}/metrics` : '';

/** Runs `run` while a scraper fetches /metrics `scrapeHz` times a second; also returns how long each scrape took (ms). */
async function scraped<T>(run: () => Promise<T>): Promise<{ result: T; scrapeMs: number[] }> {
  const scrapeMs: number[] = [];
  const timer = setInterval(() => {
    const start = performance.now();
    void fetch(metricsUrl)
      .then((res) => res.text())
      .then(() => scrapeMs.push(performance.now() - start));
  }, 1000 / scrapeHz);
  try {
    return { result: await run(), scrapeMs };
  } finally {
    clearInterval(timer);
  }
}
const echo = await spawnServer([], { entry: here('./echo-server.js'), cpus: pin.server });
console.error(`gym-tcp (${opts.workers} workers) on port ${gym.port}, echo ceiling on port ${echo.port}; ${seconds} s per run, ${rounds} round(s) per point`);
if (pin.server) console.error(`pinned: servers on core(s) ${pin.server}, load generator on core(s) ${pin.load}`);

const rows: string[][] = [];
const scrapeRows: string[][] = [];
for (const connections of connectionCounts) {
  // Echo and gym-tcp take turns, `rounds` times: a shared machine's slow spells then hit both, and
  // the median of each is reported (with the ratio of medians).
  const ceilings: ClosedLoopResult[] = [];
  const ourRuns: ClosedLoopResult[] = [];
  const scrapedRuns: ClosedLoopResult[] = [];
  const scrapeMs: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const of = rounds > 1 ? ` (round ${round} of ${rounds})` : '';
    // Who goes first swaps each round, so that neither always runs right after the other's teardown.
    const turns = (['echo', 'gym-tcp', 'gym-tcp scraped'] as const).filter((which) => scrapeHz > 0 || which !== 'gym-tcp scraped');
    for (const which of round % 2 === 1 ? turns : [...turns].reverse()) {
      console.error(`  ${connections} connection(s): ${which}${of}…`);
      if (which === 'echo') ceilings.push(await runLoad('./load.js', echo, connections));
      else if (which === 'gym-tcp') ourRuns.push(await runLoad('./load.js', gym, connections));
      else {
        const run = await scraped(() => runLoad('./load.js', gym, connections));
        scrapedRuns.push(run.result);
        scrapeMs.push(...run.scrapeMs);
      }
    }
  }
  const ceiling = median(ceilings);
  const ours = median(ourRuns);
  const ratio = ours.stepsPerSecond / ceiling.stepsPerSecond;
  // A round's two runs follow each other: the spread of their ratios shows how far the machine's noise moves it.
  const roundRatios = ourRuns.map((run, i) => run.stepsPerSecond / ceilings[i].stepsPerSecond);
  records.push({ bench: 'tcp', connections, cores: pin, echo: ceiling, gymTcp: ours, ratio, roundRatios, rounds: { echo: ceilings, gymTcp: ourRuns } });
  if (scrapeHz > 0) {
    const withScraper = median(scrapedRuns);
    const scrapeRatios = scrapedRuns.map((run, i) => run.stepsPerSecond / ourRuns[i].stepsPerSecond);
    const sortedMs = [...scrapeMs].sort((a, b) => a - b);
    records.push({ bench: 'tcp-scraped', connections, scrapeHz, gymTcp: ours, scraped: withScraper, scrapeRatios, scrapeMs: sortedMs });
    scrapeRows.push([
      String(connections),
      fmt(ours.stepsPerSecond),
      fmt(withScraper.stepsPerSecond),
      (withScraper.stepsPerSecond / ours.stepsPerSecond).toFixed(3) + '×',
      `${Math.min(...scrapeRatios).toFixed(2)}–${Math.max(...scrapeRatios).toFixed(2)}×`,
      `${fmt(ours.p50us)} / ${fmt(withScraper.p50us)}`,
      `${fmt(ours.p99us)} / ${fmt(withScraper.p99us)}`,
      sortedMs.length > 0 ? `${sortedMs.length}, ${sortedMs[Math.floor(sortedMs.length / 2)].toFixed(1)} ms` : '–',
    ]);
  }
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
console.log(
  pin.server
    ? `CPU columns: CPU time per step in µs (all threads; resets included); servers on core(s) ${pin.server}, load generator on core(s) ${pin.load}\n`
    : 'CPU columns: CPU time per step in µs (all threads; resets included) of each server and of the load generator, which shares the machine\n',
);
const header = ['connections', 'echo steps/s', 'gym-tcp steps/s', 'ratio', 'ratio per round', 'gym-tcp p50 µs', 'gym-tcp p99 µs', 'echo p50 µs', 'gym-tcp CPU', 'echo CPU', 'load gen CPU (gym-tcp / echo)'];
console.log(table(header, rows));
if (scrapeHz > 0) {
  console.log(`\nThe same, scraped for /metrics ${scrapeHz} time(s) a second (median of each; ratio per round: each round's scraped run over its unscraped one)\n`);
  console.log(table(['connections', 'steps/s', 'scraped steps/s', 'ratio', 'ratio per round', 'p50 µs (not / scraped)', 'p99 µs (not / scraped)', 'scrapes, median time'], scrapeRows));
}

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
  const served = await spawnServer(['--http-port', '0', '--workers', String(opts.workers)], { listening: /HTTP listening on ([^\s]*):(\d+)/, cpus: pin.server });
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
