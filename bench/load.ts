/**
 * Load generator: N connections, each playing CartPole-v1 in a closed loop through the TypeScript
 * client. Prints one JSON line of results.
 * Usage: node dist/bench/load.js <port> <connections> <seconds>
 */
import { GymClient } from '../src/client/client.js';
import { measureClosedLoop } from './closed-loop.js';

const [port, connections, seconds] = process.argv.slice(2).map(Number);

const clients = await Promise.all(Array.from({ length: connections }, () => GymClient.connect(port)));
await Promise.all(clients.map(async (c) => (await c.make('CartPole-v1'), await c.reset())));
const result = await measureClosedLoop(
  clients.map((c) => ({ step: async (action) => (await c.step(action)).done, reset: () => c.reset() })),
  seconds,
);
await Promise.all(clients.map((c) => c.end()));
console.log(JSON.stringify({ connections, ...result }));
process.exit(0);
