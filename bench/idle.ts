/**
 * Memory check: opens N connections, each with a CartPole env that has been reset, then holds them.
 * Prints "ready" when all are open; exits when its stdin closes.
 * Usage: node dist/bench/idle.js <port> <connections>
 */
import { GymClient } from '../src/client/client.js';

const [port, connections] = process.argv.slice(2).map(Number);
const clients: GymClient[] = [];
for (let i = 0; i < connections; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, connections - i) }, () => GymClient.connect(port)));
  await Promise.all(batch.map(async (c) => (await c.make('CartPole-v1'), await c.reset())));
  clients.push(...batch);
}
console.log('ready');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
