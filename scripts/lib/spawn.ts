/**
 * Starting servers as child processes for the scripts, benchmarks and tests: `gym-tcp serve --port 0`
 * (or another entry script), waiting for its "listening on HOST:PORT" line, and stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** bin/gym-tcp.js, from scripts/lib/spawn.ts (vitest) as from dist/scripts/lib/spawn.js (npm run …). */
export const GYM_TCP_BIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../bin/gym-tcp.js' : '../../../bin/gym-tcp.js', import.meta.url));

export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  host: string;
  port: number;
  /** Everything the server printed (stdout and stderr). */
  output(): string;
  alive(): boolean;
  /** Sends a signal and resolves with the exit code (null if it did not exit within timeoutMs). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  timeoutMs?: number;
  /** Another script that starts a server (the soak's fault-server, the bench's echo server), with an IPC channel. */
  entry?: string;
  /** The line that says it listens, with the port as the second group (default: "listening on HOST:PORT"). */
  listening?: RegExp;
  /** Linux: the cores to run it on, as `taskset -c` takes them (e.g. "0" or "0-1"). */
  cpus?: string;
}

/** `node …args`, run on the given cores with taskset when `cpus` is set (taskset execs node: the pid is node's). */
export function nodeCommand(args: string[], cpus?: string): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
}

/** Starts `node bin/gym-tcp.js serve --port 0 …args` (or `entry`) and waits for its "listening on HOST:PORT" line. */
export function spawnServer(args: string[] = [], { timeoutMs = 20_000, entry, listening = /listening on (\[[^\]]+\]|[^\s:]+):(\d+)/, cpus }: SpawnOptions = {}): Promise<SpawnedServer> {
  return new Promise((resolve, reject) => {
    const child = entry
      ? spawn(...nodeCommand([entry, ...args], cpus), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
      : spawn(...nodeCommand([GYM_TCP_BIN, 'serve', '--port', '0', ...args], cpus), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    let exitCode: number | null = null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code, signal) => r((exitCode = code ?? (signal ? 128 : null)))));
    const timer = setTimeout(() => fail(new Error(`the server did not say it was listening within ${timeoutMs} ms: ${out}`)), timeoutMs);
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout!.on('data', (d) => {
      out += d;
      const m = listening.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        resolve({
          child,
          pid: child.pid!,
          host: m[1].replace(/^\[|\]$/g, ''),
          port: Number(m[2]),
          output: () => out,
          alive: () => exitCode === null && child.exitCode === null && child.signalCode === null,
          stop: async (signal = 'SIGTERM', stopTimeoutMs = 20_000) => {
            if (child.exitCode !== null || child.signalCode !== null) return exitCode;
            child.kill(signal);
            const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), stopTimeoutMs).unref())]);
            if (code === null) child.kill('SIGKILL');
            return code;
          },
        });
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => fail(new Error(`the server exited with ${code} before listening: ${out}`)));
  });
}
