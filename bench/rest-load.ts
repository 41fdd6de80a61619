/**
 * REST load generator: N clients, each with its own CartPole-v1 env made over the gym-http-api routes,
 * stepping in a closed loop (POST a step, wait for its answer, reset when the episode ends) over one
 * keep-alive HTTP/1.1 connection per client. Prints one JSON line of results.
 * Usage: node dist/bench/rest-load.js <http-port> <clients> <seconds>
 */
import http from 'node:http';

const [port, clients, seconds] = process.argv.slice(2).map(Number);
const warmupMs = 500;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });

function call(method: string, path: string, body?: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          if (res.statusCode !== 200 && res.statusCode !== 204) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
          else resolve(text ? JSON.parse(text) : null);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const ids: string[] = await Promise.all(
  Array.from({ length: clients }, async () => (await call('POST', '/v1/envs/', '{"env_id": "CartPole-v1"}')).instance_id),
);
await Promise.all(ids.map((id) => call('POST', `/v1/envs/${id}/reset/`)));

const latencies: number[] = [];
let steps = 0;
let measuring = false;
let running = true;

async function play(id: string): Promise<void> {
  let action = 0;
  while (running) {
    const t0 = process.hrtime.bigint();
    const reply = await call('POST', `/v1/envs/${id}/step/`, `{"action": ${action}}`);
    if (measuring) {
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      steps++;
    }
    action = 1 - action;
    if (reply.done) await call('POST', `/v1/envs/${id}/reset/`);
  }
}

const loops = ids.map(play);
await new Promise((r) => setTimeout(r, warmupMs));
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
running = false;
await Promise.all(loops);
await Promise.all(ids.map((id) => call('POST', `/v1/envs/${id}/close/`)));
agent.destroy();

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(JSON.stringify({ clients, steps, stepsPerSecond: steps / elapsed, p50us: pct(50), p99us: pct(99) }));
process.exit(0);
