/**
 * Load generator: N connections, each playing CartPole-v1 in a closed loop (send a step, wait for its
 * reply, reset when the episode ends) through the TypeScript client. Prints one JSON line of results.
 * Usage: node dist/bench/load.js <port> <connections> <seconds>
 */
import { GymClient } from '../src/client/client.js';

const [port, connections, seconds] = process.argv.slice(2).map(Number);
const warmupMs = 500;

const clients = await Promise.all(Array.from({ length: connections }, () => GymClient.connect(port)));
await Promise.all(clients.map(async (c) => (await c.make('CartPole-v1'), await c.reset())));

const latencies: number[] = [];
let steps = 0;
let measuring = false;
let running = true;

async function play(client: GymClient): Promise<void> {
  let action = 0;
  while (running) {
    const t0 = process.hrtime.bigint();
    const reply = await client.step(action);
    if (measuring) {
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      steps++;
    }
    action = 1 - action;
    if (reply.done) await client.reset();
  }
}

const loops = clients.map(play);
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
running = false;
await Promise.all(loops);
await Promise.all(clients.map((c) => c.end()));

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(JSON.stringify({ connections, steps, stepsPerSecond: steps / elapsed, p50us: pct(50), p99us: pct(99) }));
process.exit(0);
