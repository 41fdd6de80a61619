/**
 * `npm run bench:fair`: a closed-loop victim (one connection stepping CartPole, one request at a time)
 * on the same worker thread as an attacker that pipelines costly legal makes (FrozenLake with a random
 * 64x64 map: half hopeless, ~50 ms each before BAD_KWARGS, half that succeed), keeping `--depth`
 * of them outstanding. Prints the victim's step latency alone and during the attack, and how many of
 * the attacker's makes were answered meanwhile. The server runs in its own process (`--workers 1`, so
 * both connections share the one env worker). Figures are printed, not asserted.
 *
 *   npm run bench:fair -- [--seconds 3] [--depth 64] [--cpus 0]
 */
import { Command } from 'commander';
import { spawnServer } from '../scripts/lib/spawn.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { table } from '../scripts/lib/format.js';

const opts = new Command('bench:fair')
  .option('--seconds <n>', 'measured seconds, alone and under attack', '3')
  .option('--depth <n>', "the attacker's makes outstanding at any time", '64')
  .option('--cpus <list>', 'Linux: the cores the server runs on (taskset -c)')
  .parse()
  .opts();
const seconds = Number(opts.seconds);
const depth = Number(opts.depth);

const HOPELESS_MAP = '{"env":{"name":"FrozenLake-v1","kwargs":{"map_name":null,"map_size":64,"map_p":0.1}}}\n';
const RANDOM_MAP = '{"env":{"name":"FrozenLake-v1","kwargs":{"map_name":null,"map_size":64}}}\n';

const server = await spawnServer(['--workers', '1'], { cpus: opts.cpus });
const ask = async (socket: ReplySocket, line: string) => {
  socket.write(line);
  const reply = await socket.next(60_000);
  if (typeof reply === 'string') throw new Error(`no reply: ${reply}`);
  return JSON.parse(reply.toString()) as Record<string, unknown>;
};

/** Steps for `ms`, one request at a time; the latency of each step in ms. */
async function victimLoop(victim: ReplySocket, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  let action = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    const reply = await ask(victim, `{"step":{"action":${action}, "render":0}}\n`);
    latencies.push(performance.now() - t0);
    action = 1 - action;
    if (reply.done) await ask(victim, '{"env":{"action": "reset"}}\n');
  }
  return latencies;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

const victim = await ReplySocket.connect(server.port, server.host);
await ask(victim, '{"env":{"name":"CartPole-v1"}}\n');
await ask(victim, '{"env":{"action": "reset"}}\n');
await victimLoop(victim, 500); // warm-up
const alone = await victimLoop(victim, seconds * 1000);

const attacker = await ReplySocket.connect(server.port, server.host);
let attacking = true;
let answered = 0;
let sent = 0;
const send = () => attacker.write(sent++ % 2 === 0 ? HOPELESS_MAP : RANDOM_MAP);
for (let i = 0; i < depth; i++) send();
const attack = (async () => {
  while (attacking) {
    const reply = await attacker.next(60_000);
    if (typeof reply === 'string') break;
    answered++;
    if (attacking) send();
  }
})();
const during = await victimLoop(victim, seconds * 1000);
attacking = false;
const makesPerSecond = answered / seconds;
victim.destroy();
attacker.destroy();
await server.stop('SIGKILL');
void attack;

console.log(`victim: one connection stepping CartPole-v1 in a closed loop; attacker: ${depth} costly FrozenLake makes outstanding; --workers 1 (machine load: ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
console.log(
  table(
    ['', 'steps', 'p50 ms', 'p99 ms', 'max ms', "attacker's makes/s"],
    [
      ['alone', String(alone.length), pct(alone, 50).toFixed(3), pct(alone, 99).toFixed(3), Math.max(...alone).toFixed(1), ''],
      ['under attack', String(during.length), pct(during, 50).toFixed(3), pct(during, 99).toFixed(3), Math.max(...during).toFixed(1), makesPerSecond.toFixed(1)],
    ],
  ),
);
process.exit(0);
