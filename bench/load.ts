/**
 * Load generator: N connections, each playing CartPole-v1 in a closed loop through the TypeScript
 * client. Prints one JSON line of results.
 * Usage: node dist/bench/load.js <port> <connections> <seconds> [<server pid>]
 * With the server's pid it also reports the server's CPU time per step (Linux: /proc).
 */
import { GymClient } from '../src/client/client.js';
import { measureClosedLoop } from './closed-loop.js';

const [port, connections, seconds, serverPid] = process.argv.slice(2).map(Number);

const clients = await Promise.all(Array.from({ length: connections }, () => GymClient.connect(port)));
await Promise.all(clients.map(async (c) => (await c.make('CartPole-v1'), await c.reset())));
const result = await measureClosedLoop(
  clients.map((c) => ({ step: async (action) => (await c.step(action)).done, reset: () => c.reset() })),
  seconds,
  serverPid,
);
await Promise.all(clients.map((c) => c.end()));
console.log(JSON.stringify({ connections, ...result }));
process.exit(0);
