/**
 * `npm run fuzz -- --seconds N --seed S --connections C`: the fuzzer of test/fuzz.test.ts, for as
 * long as you like, against a spawned `gym-tcp serve`. Prints progress every few seconds and a
 * summary; exits 1 if any complete line went unanswered, any reply was not what the oracle
 * expected, the bystander's CartPole was disturbed, or the server did not survive.
 *
 *   npm run fuzz -- [--seconds 60] [--seed 1234] [--connections 8] [--workers 2] [--max-line-bytes 65536]
 */
import { Command } from 'commander';
import { spawnServer } from './lib/spawn.js';
import { memoryOf } from './lib/proc.js';
import { sleep } from './lib/wait.js';
import { fmt, mib } from './lib/format.js';
import { chooseSeed } from './lib/rng.js';
import { probeEnvPlaces } from './lib/env-places.js';
import { cleanEpisode } from './lib/bystander.js';
import { runFuzz, summarizeFuzz } from './lib/fuzz-run.js';

const opts = new Command('fuzz')
  .option('--seconds <n>', 'how long to fuzz', '60')
  .option('--seed <n>', 'PRNG seed (printed when not given)')
  .option('--connections <n>', 'fuzzing connections at once (plus one bystander)', '8')
  .option('--workers <n>', 'server worker threads', '2')
  .option('--max-line-bytes <n>', 'the server line limit (lines stay under it, except on purpose)', '65536')
  .option('--progress <seconds>', 'progress every this many seconds', '5')
  .parse()
  .opts();

const seconds = Number(opts.seconds);
const seed = chooseSeed(opts.seed ?? process.env.FUZZ_SEED);
const maxLineBytes = Number(opts.maxLineBytes);
// A small env limit, so that leaked environments can be counted from outside at the end.
const maxEnvs = 4 * Number(opts.connections) + 32;
const server = await spawnServer(['--workers', String(opts.workers), '--max-line-bytes', String(maxLineBytes), '--max-envs', String(maxEnvs)]);
console.log(`fuzzing gym-tcp (pid ${server.pid}, port ${server.port}, ${opts.workers} workers) for ${seconds} s with ${opts.connections} connections, seed ${seed}`);
console.log(`  replay with: npm run fuzz -- --seconds ${seconds} --seed ${seed} --connections ${opts.connections}`);

let peakKiB = memoryOf(server.pid).rssKiB;
const stats = await runFuzz({
  port: server.port,
  host: server.host,
  seconds,
  seed,
  connections: Number(opts.connections),
  maxLineBytes,
  bystander: true,
  progressEveryMs: Number(opts.progress) * 1000,
  onProgress: (s, elapsed) => {
    const mem = server.alive() ? memoryOf(server.pid) : null;
    if (mem) peakKiB = Math.max(peakKiB, mem.rssKiB);
    console.log(
      `  ${(elapsed / 1000).toFixed(0).padStart(4)} s  lines ${fmt(s.linesSent).padStart(9)}  replies ${fmt(s.replies).padStart(9)}  ` +
        `errors ${fmt(s.replies - s.okReplies).padStart(8)}  unanswered ${s.unanswered}  problems ${s.problems.length}  ` +
        `connections ${s.connections.checked + s.connections.abrupt + s.connections.lineTooLong}  bystander steps ${fmt(s.bystander.steps)}  ` +
        `server RSS ${mem ? mib(mem.rssKiB) + ' MiB' : 'GONE'}`,
    );
  },
});

const alive = server.alive();
const episode = alive ? await cleanEpisode(server.port, server.host, seed).catch((err: Error) => ({ steps: 0, episodes: 0, mismatches: [err.message], maxLatencyMs: 0 })) : null;
if (alive) peakKiB = Math.max(peakKiB, memoryOf(server.pid).hwmKiB);
await sleep(500);
const places = alive ? await probeEnvPlaces(server.port, server.host, maxEnvs) : null;
const exitCode = await server.stop('SIGTERM');

console.log('\n' + summarizeFuzz(stats));
console.log(`server alive after the fuzz: ${alive ? 'yes' : 'NO'}; clean client's episode: ${episode ? `${episode.steps} steps, ${episode.mismatches.length ? 'MISMATCH ' + episode.mismatches[0] : 'identical to the reference'}` : 'not played'}`);
console.log(`server peak RSS ${mib(peakKiB)} MiB; exit status after SIGTERM ${exitCode}`);
console.log(`environments leaked: ${places ? `${maxEnvs - places.free} (${places.free} of the ${maxEnvs} places under --max-envs free at the end)` : 'unknown'}`);

const failed =
  !places || places.free !== maxEnvs || stats.unanswered > 0 || stats.problems.length > 0 || stats.bystander.mismatches.length > 0 || !alive || !episode || episode.mismatches.length > 0 || episode.episodes !== 1 || exitCode !== 0;
console.log(failed ? '\nFAILED' : '\nOK: every complete line was answered as expected; nobody else was disturbed');
process.exit(failed ? 1 : 0);
