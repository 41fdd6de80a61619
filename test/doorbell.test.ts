/**
 * How idle workers sleep. On Linux they block reading a doorbell pipe (src/pool/doorbell.ts); every
 * other test here runs on that. This file checks what a blocking read could break: a worker asleep
 * in one must still stop when Node exits (which joins worker threads) and when someone terminates
 * it, and without `mkfifo` the pool must fall back to Atomics.wait, say so, and serve the same.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startServer } from './helpers.js';

const ROOT = new URL('..', import.meta.url);
const linux = process.platform === 'linux';

/**
 * Runs a script that starts a 2-worker server, plays a few CartPole steps, prints how many of its
 * file descriptors are doorbell pipes, and then ends as `end` says; returns its exit code and output.
 */
function runServerScript(end: 'exit' | 'throw' | 'return', env: NodeJS.ProcessEnv = process.env) {
  const code = `
    const { GymTcpServer, GymClient } = await import('./dist/src/index.js');
    const fs = await import('node:fs');
    const server = await GymTcpServer.listen({ port: 0, workers: 2, log: (m) => console.error('log: ' + m) });
    const client = await GymClient.connect(server.address().port);
    await client.make('CartPole-v1');
    await client.reset();
    for (let i = 0; i < 20; i++) await client.step(i % 2);
    const fds = fs.readdirSync('/proc/self/fd').map((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } });
    console.log('doorbell fds', fds.filter((link) => /gym-tcp-[^/]+\\/\\d+ \\(deleted\\)$/.test(link)).length);
    // Let the workers fall asleep before the end.
    await new Promise((r) => setTimeout(r, 300));
    ${end === 'exit' ? 'process.exit(7);' : end === 'throw' ? "throw new Error('deliberate');" : 'await client.end(); await server.close();'}
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env, encoding: 'utf8', timeout: 15_000 });
  return { status: run.status, signal: run.signal, output: run.stdout + run.stderr };
}

describe.skipIf(!linux)('worker sleep', () => {
  it('process.exit with live sleeping workers exits at once (Node joins worker threads at exit)', () => {
    const run = runServerScript('exit');
    expect(run.signal, 'killed by the timeout: the exit hung').toBeNull();
    expect(run.status, run.output).toBe(7);
    expect(run.output).toContain('doorbell fds 4');
    expect(run.output).not.toContain('cannot make doorbell pipes');
  });

  it('an uncaught exception with live sleeping workers exits at once', () => {
    const run = runServerScript('throw');
    expect(run.signal, 'killed by the timeout: the exit hung').toBeNull();
    expect(run.status, run.output).toBe(1);
    expect(run.output).toContain('deliberate');
  });

  it('without mkfifo, workers sleep in Atomics.wait and serve the same', () => {
    const run = runServerScript('return', { ...process.env, PATH: '/nonexistent' });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('doorbell fds 0');
    // The operator is told, as for every slower fallback.
    expect(run.output).toContain('cannot make doorbell pipes');
  });

  it('Worker.terminate() stops a worker asleep on its doorbell', async () => {
    const s = await startServer({ workers: 2 });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const started = performance.now();
      await Promise.all(s.pool.piscina.threads.map((t) => t.terminate()));
      // The pool wakes sleeping workers every 250 ms; without that this would wait forever.
      expect(performance.now() - started).toBeLessThan(5_000);
    } finally {
      await s.close();
    }
  });
});
