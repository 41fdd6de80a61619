/**
 * `gym-tcp serve` for the soak, plus the one fault a client cannot cause from outside: on the IPC
 * message 'kill-worker' it terminates one of its worker threads (at random), as a crash would.
 * A test harness, not part of the product: the real server has no such switch.
 * Usage (by scripts/soak.ts): node dist/scripts/fault-server.js --workers N --max-line-bytes B --max-envs E
 */
import { Command } from 'commander';
import { GymTcpServer } from '../src/server/tcp-server.js';

const opts = new Command('fault-server')
  .option('--workers <n>', 'worker threads', '2')
  .option('--max-line-bytes <n>', 'line limit', String(1024 * 1024))
  .option('--max-envs <n>', 'environment limit', '100000')
  .parse()
  .opts();

const server = await GymTcpServer.listen({
  port: 0,
  workers: Number(opts.workers),
  maxLineBytes: Number(opts.maxLineBytes),
  maxEnvs: Number(opts.maxEnvs),
});
const { host, port } = server.address();
console.log(`fault-server listening on ${host}:${port}`);

process.on('message', (message) => {
  if (message !== 'kill-worker') return;
  const threads = server.pool.piscina.threads;
  const victim = threads[Math.floor(Math.random() * threads.length)];
  void victim?.terminate().then(() => process.send?.('killed'));
});
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
