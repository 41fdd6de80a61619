// The examples of docs/vector.md, run as a user would: the Node one with the built client, the
// Python one with the machine's python3 (standard library only), against a real server.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';

const run = promisify(execFile);
const doc = readFileSync(new URL('../docs/vector.md', import.meta.url), 'utf8');

function example(kind: string): string {
  const match = new RegExp(`<!-- example: ${kind} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/vector.md has no ${kind} example`);
  return match[1];
}

let server: GymTcpServer;
let dir: string;
beforeAll(async () => {
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'gym-tcp-vector-docs-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/vector.md', () => {
  it('runs its Node and Python examples, which see the same episodes', async () => {
    const env = { ...process.env, GYM_TCP_PORT: String(server.address().port) };
    const client = new URL('../dist/src/client/client.js', import.meta.url).href;
    const node = join(dir, 'example.mjs');
    writeFileSync(node, example('node').replace("'gym-tcp/client'", JSON.stringify(client)));
    const python = join(dir, 'example.py');
    writeFileSync(python, example('python'));
    const [fromNode, fromPython] = await Promise.all([run(process.execPath, [node], { env }), run('python3', [python], { env })]);
    const episodes = /episodes (\d+) reward (\d+)/.exec(fromNode.stdout);
    expect(episodes, fromNode.stdout).not.toBeNull();
    expect(Number(episodes![1])).toBeGreaterThan(0);
    // 8 CartPoles for 300 steps: reward 1 a step but 0 on each next_step reset (one per episode ended before the last step).
    expect(Number(episodes![2])).toBeLessThanOrEqual(8 * 300);
    expect(Number(episodes![2])).toBeGreaterThanOrEqual(8 * 300 - Number(episodes![1]));
    expect(fromPython.stdout.trim()).toBe(episodes![0]);
    expect(fromNode.stdout).toMatch(/recv (\d),(\d) then (\d)/);
    const [, a, b, c] = /recv (\d),(\d) then (\d)/.exec(fromNode.stdout)!;
    expect([a, b, c].map(Number)).toEqual([5, 2, 7]);
  });
});

