/**
 * REST load generator: N clients, each with its own CartPole-v1 env made over the gym-http-api routes,
 * stepping in a closed loop (POST a step, wait for its answer, reset when the episode ends) over one
 * keep-alive HTTP/1.1 connection per client. Prints one JSON line of results.
 * Usage: node dist/bench/rest-load.js <http-port> <clients> <seconds> [<server pid>]
 */
import http from 'node:http';
import { measureClosedLoop } from './closed-loop.js';

const [port, clients, seconds, serverPid] = process.argv.slice(2).map(Number);
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

const result = await measureClosedLoop(
  ids.map((id) => ({
    step: async (action) => (await call('POST', `/v1/envs/${id}/step/`, `{"action": ${action}}`)).done,
    reset: () => call('POST', `/v1/envs/${id}/reset/`),
  })),
  seconds,
  serverPid,
);
await Promise.all(ids.map((id) => call('POST', `/v1/envs/${id}/close/`)));
agent.destroy();

console.log(JSON.stringify({ clients, ...result }));
process.exit(0);
