/**
 * `npm run fuzz:vector [-- --seconds 30] [--clients 8] [--shard-size 2]`: hostile clients against
 * vector envs split over the worker threads (docs/vector.md, "Shards"). Each connection makes a vector
 * env, then sends bursts of random vector lines (big and small makes, steps, resets with masks and
 * options, sends with bad and duplicate ids, recvs, single-env lines, garbage), and goes away by FIN
 * or RST at a random moment. Afterwards the server must be alive, hold no session and count no env,
 * and its memory is printed. This found two leaks of the split path that short tests did not (a plan
 * answered after its socket closed; a shard dropped between its make's check and go).
 */
import net from 'node:net';
import { Command } from 'commander';
import { spawnServer } from './lib/spawn.js';
import { memoryOf } from './lib/proc.js';
import { chooseSeed, Rng } from './lib/rng.js';

const opts = new Command('fuzz:vector')
  .option('--seconds <n>', 'how long the clients run', '30')
  .option('--clients <n>', 'clients at once', '8')
  .option('--shard-size <n>', "the server's --vector-shard-size (small: every vector env is split)", '2')
  .option('--seed <n>', 'PRNG seed (printed when not given)')
  .parse()
  .opts();

const seed = chooseSeed(opts.seed ?? process.env.FUZZ_SEED);
const rng = new Rng(seed);
const rand = () => rng.next();
const pick = <T>(items: readonly T[]): T => rng.pick(items);
const N = 12;
const vec = (body: object) => JSON.stringify({ vector: body });

function line(): string {
  const ids = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Math.floor(rand() * (N + 2)) - 1);
  return pick([
    vec({
      make: {
        name: pick(['CartPole-v1', 'Pendulum-v1', 'FrozenLake-v1', 'Blackjack-v1', 'Nope-v0']),
        num_envs: pick([N, 3, 0, 24, 100_000]),
        encoding: pick(['json', 'base64']),
        autoreset: pick(['next_step', 'same_step', 'disabled']),
      },
    }),
    vec({ reset: pick([{}, { seed: '1' }, { mask: Array.from({ length: N }, () => rand() < 0.5) }, { mask: [true] }, { options: { x: 1 } }]) }),
    vec({
      step: {
        actions: pick([
          Array.from({ length: N }, () => Math.floor(rand() * 3)),
          Array.from({ length: N }, () => [rand() * 4 - 2]),
          [1],
          { dtype: 'uint8', shape: [N], data: Buffer.alloc(N).toString('base64') },
          { dtype: 'int64', shape: [N], data: '!!' },
        ]),
      },
    }),
    vec({ send: { actions: ids.map(() => Math.floor(rand() * 2)), env_ids: ids } }),
    vec({ recv: pick([{}, { batch_size: 1 }, { batch_size: 50 }]) }),
    vec({ sample: {} }),
    vec({ seed: '3' }),
    '{"record_episode_stats":{"action": "start"}}',
    '{"env":{"name": "CartPole-v1"}}',
    '{"env":{"action": "reset"}}',
    '{"env":{"action": "close"}}',
    'garbage',
    '{"vector":',
    '{"vector":{"step":{"actions":' + '['.repeat(50) + '}}}',
  ]);
}

const server = await spawnServer(['--workers', '2', '--vector-shard-size', String(opts.shardSize), '--health-port', '0']);
const port = server.port;
const deadline = Date.now() + Number(opts.seconds) * 1000;
let connections = 0;
let replies = 0;
let errors = 0;
console.error(`gym-tcp on port ${port}, vector envs of ${2 * Number(opts.shardSize)}+ sub-envs split; ${opts.clients} clients for ${opts.seconds} s, seed ${seed}`);
await Promise.all(
  Array.from({ length: Number(opts.clients) }, async () => {
    while (Date.now() < deadline) {
      await new Promise<void>((done) => {
        const socket = net.connect(port, '127.0.0.1');
        connections += 1;
        let pending = '';
        socket.on('data', (chunk: Buffer) => {
          pending += chunk.toString('latin1');
          for (let i = pending.indexOf('\r\n\r\n'); i >= 0; i = pending.indexOf('\r\n\r\n')) {
            replies += 1;
            if (pending.slice(0, i).includes('"error"')) errors += 1;
            pending = pending.slice(i + 4);
          }
        });
        socket.on('error', () => {});
        socket.on('close', () => done());
        socket.on('connect', () => {
          socket.write(vec({ make: { name: 'CartPole-v1', num_envs: N } }) + '\r\n');
          let bursts = 5 + Math.floor(rand() * 60);
          const tick = () => {
            if (bursts-- <= 0 || Date.now() > deadline) return rand() < 0.5 ? socket.destroy() : socket.end();
            for (let k = Math.floor(rand() * 4); k >= 0; k--) socket.write(line() + '\r\n');
            setTimeout(tick, Math.floor(rand() * 5));
          };
          tick();
        });
      });
    }
  }),
);
// The server's own figures, once what it had in flight has settled.
await new Promise((r) => setTimeout(r, 2000));
const metrics = await (await fetch(`http://127.0.0.1:${healthPort(server.output())}/metrics`)).text();
const figure = (name: string) => [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
const sessions = figure('gym_tcp_worker_sessions');
const envs = figure('gym_tcp_envs_counted');
const alive = server.alive();
console.log(JSON.stringify({ connections, replies, errors, alive, sessionsLeft: sessions, envsLeft: envs, rssMiB: Math.round(memoryOf(server.pid).rssKiB / 1024) }));
await server.stop();
if (!alive || sessions !== 0 || envs !== 0) {
  console.error('FAILED: the server must be alive and hold no session and no env once every client has gone');
  process.exit(1);
}

function healthPort(output: string): number {
  const m = /health checks on [^\s]+:(\d+)/.exec(output);
  if (!m) throw new Error(`no health port in the server's output:\n${output}`);
  return Number(m[1]);
}
