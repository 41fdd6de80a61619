/**
 * Shared helpers for the robustness scripts (fuzz, soak, leak) and their CI-sized tests
 * (test/fuzz.test.ts, test/resilience.test.ts):
 *
 * - spawning `gym-tcp serve --port 0` and watching its memory and file descriptors from /proc;
 * - a seeded PRNG, so a failing run can be replayed with the seed it prints;
 * - ReplySocket, a byte-level client that splits replies on CRLFCRLF;
 * - the fuzzer: hostile request lines, an oracle that knows which lines must be answered (and with
 *   which error code when the line cannot be parsed), connections that check every reply in order,
 *   connections that disconnect abruptly, and a bystander that checks its CartPole trajectory
 *   against a local reference while the others misbehave.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { loadEnvSpecs, makeEnv } from '../src/envs/registry.js';
import { ERROR_CODES, ProtocolError } from '../src/protocol/errors.js';
import { parseRequest } from '../src/protocol/request.js';
import type { Request } from '../src/protocol/schema.js';
import { errorReplyFor, Session } from '../src/protocol/session.js';

// The fuzz oracle and the reference sessions run envs in this process: their code must be loaded first
// (the registry loads each family on first use; an env worker waits for it the same way).
await loadEnvSpecs();

// ---------------------------------------------------------------------------------------------
// Processes

/** bin/gym-tcp.js, from scripts/lib.ts (vitest) as from dist/scripts/lib.js (npm run …). */
export const GYM_TCP_BIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin/gym-tcp.js' : '../../bin/gym-tcp.js', import.meta.url));

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

/** A process's memory from /proc/<pid>/status, in KiB: resident now and its high-water mark. */
export function memoryOf(pid: number | 'self'): { rssKiB: number; hwmKiB: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM'), threads: field('Threads') };
}

/**
 * CPU time a process has used so far (user + system, all its threads), in microseconds: this one's
 * from Node, another's from /proc/<pid>/stat (NaN where there is no /proc), where the kernel counts
 * in ticks of 1/100 s (USER_HZ).
 */
export function cpuMicrosOf(pid: number | 'self'): number {
  if (pid === 'self') {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return NaN;
  }
}

/** Open file descriptors of a process (entries of /proc/<pid>/fd). */
export function fdCount(pid: number | 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for a promise at most `ms` (leaving no timer behind); true if it settled in time. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
export const mib = (kib: number) => (kib / 1024).toFixed(1);
export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A Markdown-style table with right-aligned cells. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padStart(widths[i])).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w) => '-'.repeat(w + 1) + ':').join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Randomness

/** sfc32: small, fast, good enough for fuzzing, and reproducible from a 32-bit seed. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, stream = 0) {
    this.#a = 0x9e3779b9;
    this.#b = seed >>> 0;
    this.#c = (stream * 0x85ebca6b) >>> 0;
    this.#d = 1;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }

  /** A random number of decimal digits (no leading zero unless "0"). */
  digits(n: number): string {
    let s = String(1 + this.int(9));
    for (let i = 1; i < n; i++) s += String(this.int(10));
    return s;
  }
}

/** The seed to use: --seed / FUZZ_SEED when given, else a fresh one (to be printed). */
export function chooseSeed(given?: string | number | null): number {
  if (given !== undefined && given !== null && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n)) throw new Error(`the seed must be an integer, got ${given}`);
    return n >>> 0;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// A byte-level client

export const TERMINATOR = Buffer.from('\r\n\r\n');
export type NextReply = Buffer | 'closed' | 'timeout';

/**
 * A client socket that sends exact bytes and hands out each reply's raw bytes (up to CRLFCRLF) in
 * order. `closedByPeer` says whether the server ended the connection before we did.
 */
export class ReplySocket {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  closedByPeer = false;
  endedByUs = false;
  bytesReceived = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #replies: Buffer[] = [];
  #waiter: ((r: NextReply) => void) | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('end', () => {
      if (!this.endedByUs) this.closedByPeer = true;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        if (!this.endedByUs) this.closedByPeer = true;
        const waiter = this.#waiter;
        this.#waiter = null;
        waiter?.('closed');
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<ReplySocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ReplySocket(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Replies received and not yet taken. */
  get queued(): number {
    return this.#replies.length;
  }

  /** Bytes received after the last complete reply. */
  get partial(): number {
    return this.#buffer.length;
  }

  write(data: string | Buffer): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** The next reply's raw bytes (terminator removed), or why there is none. */
  next(timeoutMs = 10_000): Promise<NextReply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.isClosed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve('timeout');
      }, timeoutMs);
      this.#waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Half-closes and waits for the server to close (or gives up after timeoutMs and destroys). */
  async end(timeoutMs = 5000): Promise<void> {
    this.endedByUs = true;
    this.socket.end();
    await within(this.closed, timeoutMs);
    this.socket.destroy();
  }

  /** Closes at once (FIN, or RST with `reset`), whatever is in flight. */
  destroy(reset = false): void {
    this.endedByUs = true;
    if (reset && typeof this.socket.resetAndDestroy === 'function' && !this.socket.destroyed) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const searchFrom = Math.max(0, this.#buffer.length - 3);
    const buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(TERMINATOR, searchFrom); end !== -1; end = buffer.indexOf(TERMINATOR, start)) {
      this.#replies.push(buffer.subarray(start, end));
      start = end + 4;
    }
    this.#buffer = start === 0 ? buffer : Buffer.from(buffer.subarray(start));
    if (this.#waiter && this.#replies.length > 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(this.#replies.shift()!);
    }
  }
}

/**
 * Environments held by a server cannot be read from outside its process; but with a known
 * --max-envs, filling every place shows how many are taken. Opens `places` connections, makes an env
 * on each, and counts the makes that succeed (all of them when nothing leaked), then closes them.
 */
export async function probeEnvPlaces(port: number, host: string, places: number): Promise<{ free: number; refused: number; other: number }> {
  const conns: ReplySocket[] = [];
  const result = { free: 0, refused: 0, other: 0 };
  try {
    for (let i = 0; i < places; i++) {
      const c = await ReplySocket.connect(port, host);
      conns.push(c);
      c.write(CPP.make('CartPole-v1') + '\r\n');
    }
    for (const c of conns) {
      const raw = await c.next(30_000);
      const error = typeof raw === 'string' ? { code: raw } : errorOf(decodeReply(raw).value);
      if (!error) result.free += 1;
      else if (error.code === 'TOO_MANY_ENVS') result.refused += 1;
      else result.other += 1;
    }
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
  return result;
}

/** A reply's JSON: plain when it starts with '{', else a zlib stream. */
export function decodeReply(raw: Buffer): { compressed: boolean; value: unknown } {
  const compressed = raw.length > 0 && raw[0] !== 0x7b;
  const text = (compressed ? inflateSync(raw) : raw).toString('utf8');
  return { compressed, value: JSON.parse(text) };
}

export function errorOf(value: unknown): { code: string; message: string } | null {
  if (typeof value !== 'object' || value === null || !('error' in value)) return null;
  return (value as { error: { code: string; message: string } }).error;
}

/** Exact messages of the C++ client (its messages.hpp), byte for byte. */
export const CPP = {
  make: (name: string) => `{"env":{"name": "${name}"}}`,
  observationSpace: '{"env":{"action": "observationspace"}}',
  actionSpace: '{"env":{"action": "actionspace"}}',
  sample: '{"env":{"actionspace": "sample"}}',
  reset: '{"env":{"action": "reset"}}',
  step: (action: string, render = 0) => `{"step":{"action":${action}, "render":${render}}}`,
  seed: (seed: number | string) => `{"env":{"seed": "${seed}"}}`,
  compression: (level: number) => `{"server":{"compression": "${level}"}}`,
  recordStats: '{"record_episode_stats":{"action": "start"}}',
  close: '{"env":{"action": "close"}}',
  url: '{"url":{"action": "url"}}',
};

/** A reference session in this process: the replies the server must give for a deterministic script. */
export function referenceSession(): Session {
  return new Session({ urlBase: 'http://reference', compression: 0, lastInstance: null, lost: false });
}

/** The JSON text a plain reference reply would be on the wire (before its terminator), or null when silent. */
export function referenceReply(session: Session, line: string): string | null {
  return session.handle(line).reply?.json ?? null;
}

// ---------------------------------------------------------------------------------------------
// The fuzzer: line generation

const ENV_IDS = [
  'CartPole-v1', 'CartPole-v1', 'CartPole-v1', 'CartPole-v0', 'MountainCar-v0', 'MountainCarContinuous-v0', 'Pendulum-v1',
  'Acrobot-v1', 'FrozenLake-v1', 'FrozenLake8x8-v1', 'CliffWalking-v1', 'Taxi-v4', 'Blackjack-v1', 'FrozenLake-v0', 'Taxi-v3',
];
const BAD_ENV_IDS = ['Foo-v9', 'cartpole-v1', 'CartPole', 'CartPole-v2', '', ' ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'CärtPöle-v1', '\\u0000', '\\ud800'];
/**
 * Keyword arguments, good and bad. FrozenLake's random maps only small: a large map_size with a low
 * map_p costs seconds of worker time per request (reported; see test/resilience.test.ts), which would
 * slow the fuzzer down rather than find anything new.
 */
const KWARGS = [
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"is_slippery": false}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"map_name": "8x8"}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": ["SFF", "FHF", "FFG"]}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": ["SF", "FFG"]}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": null, "map_name": null, "map_size": 2, "map_p": 0}}}',
  '{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": null, "map_name": null, "map_size": 5, "map_seed": 3}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"sutton_barto_reward": true}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"sutton_barto_reward": "yes"}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"bogus": 1}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"__proto__": {"sutton_barto_reward": true}}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": {"constructor": 1}}}',
  '{"env":{"name": "CartPole-v1", "kwargs": null}}',
  '{"env":{"name": "CartPole-v1", "kwargs": [1, 2]}}',
  '{"env":{"name": "Taxi-v4", "kwargs": {"is_rainy": true, "rainy_probability": 1e400}}}',
  '{"env":{"name": "Taxi-v4", "kwargs": {"fickle_passenger": true}}}',
  '{"env":{"name": "MountainCar-v0", "kwargs": {"goal_velocity": 0.1}}}',
  '{"env":{"name": "Pendulum-v1", "kwargs": {"g": 9.81}}}',
  '{"env":{"name": "Pendulum-v1", "kwargs": {"g": -1e308}}}',
  '{"env":{"name": "Blackjack-v1", "kwargs": {"natural": true, "sab": false}}}',
  '{"env":{"name": "CliffWalking-v1", "kwargs": {"is_slippery": true}}}',
];
const ACTIONS = ['0', '1', '0', '1', '2', '-1', '[0.5]', '[1.0]', '[-3]', '"1"', '"[0.5]"', '[0, 1]', 'null', 'true', '{}', '[]', '1.0', '0.5', '1e400', '-1e400', '123456789012345678901234567890', '[1e400]', '"NaN"', '[NaN]'];
const NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '9007199254740993', '-0', '0.1e1', '1E+2', '00', '01', 'NaN', 'Infinity', '0x10', '-', '1.', '.5', '1e', '9'.repeat(400)];
const WRONG_TYPES = [
  '{"step":{"action":{}, "render":0}}', '{"step":{"action":1, "render":2}}', '{"step":{"action":1, "render":"1"}}', '{"step":{"action":1, "render":null}}',
  '{"step":{"render":0}}', '{"step":1}', '{"step":null}', '{"step":[]}', '{"step":"action"}',
  '{"env":{"seed": true}}', '{"env":{"seed": null}}', '{"env":{"seed": -1}}', '{"env":{"seed": 1.5}}', '{"env":{"seed": "0x10"}}', '{"env":{"seed": ""}}', '{"env":{"seed": "-3"}}', '{"env":{"seed": [1]}}',
  '{"server":{"compression": "10"}}', '{"server":{"compression": "-1"}}', '{"server":{"compression": 9.5}}', '{"server":{"compression": "a"}}', '{"server":{"compression": null}}', '{"server":{}}', '{"server":"9"}',
  '{"record_episode_stats":{"action": "begin"}}', '{"record_episode_stats":{}}', '{"record_episode_stats":true}',
  '{"url":{"action": "URL"}}', '{"url":{}}', '{"url":"url"}',
  '{"env":{"action": "dance"}}', '{"env":{"action": 1}}', '{"env":{"actionspace": "sampel"}}', '{"env":{"name": 42}}', '{"env":{"name": null}}', '{"env":{"name": ["CartPole-v1"]}}',
  '{"env":{}}', '{"env":null}', '{"env":[]}', '{"env":"CartPole-v1"}', '{}', '[]', 'null', 'true', '42', '"env"', '[{"env":{"action": "reset"}}]',
  '{"env":{"contains": {"space": "action", "value": 1}}}', '{"env":{"contains": {"space": "observation", "value": [0, 0, 0, 0]}}}', '{"env":{"contains": {"space": "reward", "value": 1}}}', '{"env":{"contains": {"space": "action"}}}',
];
const UNKNOWN_KEYS = [
  '{"step":{"action":1, "render":0, "foo":2}}', '{"env":{"name": "CartPole-v1", "colour": 1}}', '{"env":{"action": "reset", "seed": "1"}}', '{"bogus":{}}',
  '{"env":{"action": "reset"}, "step":{"action":1}}', '{"url":{"action": "url"}, "extra": 1}', '{"server":{"compression": "1", "level": 1}}',
  '{"__proto__":{"action": "reset"}}', '{"constructor":{}}', '{"toString":1}', '{"env":{"__proto__":{"name": "CartPole-v1"}}}', '{"hasOwnProperty":{"action":"url"}}',
  '{"auth": "token"}', '{"ENV":{"action": "reset"}}', '{"env ":{"action": "reset"}}', '{" env":{"action": "reset"}}',
];
const DUPLICATE_KEYS = [
  '{"env":{"seed": "1", "seed": "2"}}', '{"step":{"action":1, "action":0, "render":0}}', '{"url":{"action": "url"}, "url":{"action": "url"}}',
  '{"env":{"name": "CartPole-v1", "name": "Foo-v1"}}', '{"env":{"name": "Foo-v1", "name": "CartPole-v1"}}', '{"server":{"compression": "0", "compression": "9"}}',
  '{"env":{"action": "reset"}, "env":{"action": "close"}}', '{"step":{"action":1, "render":0, "render":1}}',
];
/** Byte sequences that are not UTF-8, and some that are but are unusual. */
const INVALID_UTF8 = [[0xff], [0xfe], [0xc0, 0x80], [0xc0, 0xaf], [0x80], [0xbf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xc3], [0xe0, 0x80, 0x80]].map((b) => Buffer.from(b));
const ODD_UTF8 = ['é', '😀', '\ufeff', '\u2028', '\u2029', '\u0085', '\ufffd', '\u00a0', '\t', '\v', '\f', '\r', '\0'].map((s) => Buffer.from(s));
const TOKENS = ['{', '}', '[', ']', ':', ',', '"env"', '"step"', '"name"', '"action"', '"seed"', '"url"', '"server"', '"compression"', '"reset"', '"CartPole-v1"', '1', '0', '-1', 'null', 'true', 'false', '"', '\\', ' ', '"\\u0000"', '1e400', '"render"'];

/** The valid messages, in the C++ client's spelling, weighted towards an env being played. */
function validMessage(rng: Rng): string {
  const r = rng.next();
  if (r < 0.3) return CPP.step(rng.pick(ACTIONS.slice(0, rng.chance(0.8) ? 4 : ACTIONS.length)), rng.int(2));
  if (r < 0.4) return CPP.reset;
  if (r < 0.5) return CPP.make(rng.pick(ENV_IDS));
  if (r < 0.55) return rng.pick(KWARGS);
  if (r < 0.6) return rng.pick([CPP.observationSpace, CPP.actionSpace]);
  if (r < 0.66) return CPP.sample;
  if (r < 0.72) return CPP.seed(rng.chance(0.9) ? rng.digits(rng.range(1, 12)) : rng.digits(rng.range(20, 400)));
  if (r < 0.78) return CPP.compression(rng.chance(0.5) ? 0 : rng.range(1, 9));
  if (r < 0.83) return rng.chance(0.8) ? CPP.recordStats : '{"record_episode_stats":{"action": "stop"}}';
  if (r < 0.87) return CPP.close;
  if (r < 0.93) return CPP.url;
  if (r < 0.96) return CPP.make(rng.pick(BAD_ENV_IDS));
  return rng.pick([
    '{"env":{"contains": {"space": "action", "value": 1}}}',
    '{"env":{"contains": {"space": "observation", "value": [0.0, 0.0, 0.0, 0.0]}}}',
    '{"step":{"action":"1"}}',
    '{"step":{"action":[0], "render": true}}',
    '{"env":{"seed": 7}}',
    '{"server":{"compression": 3}}',
  ]);
}

function splice(base: Buffer, at: number, remove: number, insert: Buffer): Buffer {
  return Buffer.concat([base.subarray(0, at), insert, base.subarray(Math.min(base.length, at + remove))]);
}

function deep(rng: Rng, maxBytes: number): string {
  const depth = Math.min(rng.pick([10, 100, 1000, 5000, 10_000, 10_000, 30_000, 100_000]), Math.floor((maxBytes - 100) / 6));
  const kind = rng.int(8);
  const arrays = '['.repeat(depth) + ']'.repeat(depth);
  switch (kind) {
    case 0:
      return arrays;
    case 1:
      return `{"step":{"action":${arrays}, "render":0}}`;
    case 2:
      return `{"env":${arrays}}`;
    case 3:
      return `{"env":{"name": "CartPole-v1", "kwargs": {"x": ${arrays}}}}`;
    case 4:
      return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    case 5:
      return `{"env":{"contains": {"space": "action", "value": ${arrays}}}}`;
    case 6:
      return '['.repeat(depth); // unclosed
    default:
      return `{"env":{"seed": ${arrays}}}`;
  }
}

/** One request line (no terminator; it may still contain LF bytes, which then split it). */
export function generateLine(rng: Rng, maxBytes: number): Buffer {
  const r = rng.next();
  let line: Buffer;
  if (r < 0.45) {
    line = Buffer.from(validMessage(rng));
  } else if (r < 0.65) {
    // Mutations of a valid message.
    line = Buffer.from(validMessage(rng));
    const mutations = rng.range(1, 3);
    for (let i = 0; i < mutations; i++) {
      const at = rng.int(line.length + 1);
      switch (rng.int(7)) {
        case 0: // byte flip
          if (line.length) line[Math.min(at, line.length - 1)] = rng.u32() & 0xff;
          break;
        case 1: // truncation
          line = line.subarray(0, at);
          break;
        case 2: // insertion of random bytes
          line = splice(line, at, 0, rng.bytes(rng.range(1, 8)));
          break;
        case 3: // deletion
          line = splice(line, at, rng.range(1, 6), Buffer.alloc(0));
          break;
        case 4: // invalid UTF-8
          line = splice(line, at, 0, rng.pick(INVALID_UTF8));
          break;
        case 5: // odd but valid characters, NUL, lone CR
          line = splice(line, at, 0, rng.pick(ODD_UTF8));
          break;
        default: // flip one bit
          if (line.length) line[Math.min(at, line.length - 1)] ^= 1 << rng.int(8);
      }
    }
  } else if (r < 0.7) {
    line = Buffer.from(deep(rng, maxBytes));
  } else if (r < 0.75) {
    const n = rng.pick(NUMBERS);
    line = Buffer.from(
      rng.pick([
        `{"step":{"action":${n}, "render":0}}`,
        `{"env":{"seed": ${n}}}`,
        `{"server":{"compression": ${n}}}`,
        `{"step":{"action":[${n}], "render":${n}}}`,
        `{"env":{"name": "Pendulum-v1", "kwargs": {"g": ${n}}}}`,
        `{"env":{"name": "FrozenLake-v1", "kwargs": {"success_rate": ${n}}}}`,
        n,
      ]),
    );
  } else if (r < 0.82) {
    line = Buffer.from(rng.pick(rng.chance(0.5) ? WRONG_TYPES : rng.chance(0.5) ? UNKNOWN_KEYS : DUPLICATE_KEYS));
  } else if (r < 0.87) {
    line = rng.bytes(rng.range(1, 200));
  } else if (r < 0.91) {
    let s = '';
    for (let i = rng.range(1, 40); i > 0; i--) s += rng.pick(TOKENS);
    line = Buffer.from(s);
  } else if (r < 0.94) {
    line = Buffer.from(rng.pick(['', ' ', '\t', '   \t  ', '\r', '\0', '\ufeff', '\ufeff{"url":{"action": "url"}}', '\f\v']));
  } else if (r < 0.97) {
    // Long lines, still under the limit: whitespace-padded valid messages, huge strings.
    const size = rng.range(1000, Math.max(1000, Math.floor(maxBytes * 0.9)) - 200);
    line = Buffer.from(
      rng.pick([
        () => CPP.url.replace('{"url"', '{' + ' '.repeat(size) + '"url"'),
        () => `{"env":{"name": "${'x'.repeat(size)}"}}`,
        () => `{"step":{"action":"${'1'.repeat(size)}"}}`,
        () => `{"env":{"seed": "${'7'.repeat(Math.min(size, 2000))}"}}`,
        () => `{"env":{"name": "CartPole-v1", "kwargs": {${Array.from({ length: Math.floor(size / 12) }, (_, i) => `"k${i}": ${i}`).join(', ')}}}}`,
        () => `{"step":{"action":[${Array.from({ length: Math.floor(size / 4) }, () => '0.5').join(',')}]}}`,
      ])(),
    );
  } else {
    // JSON string escapes that decode to odd code points.
    line = Buffer.from(
      rng.pick([
        '{"env":{"name": "\\ud800"}}',
        '{"env":{"name": "\\udfff\\ud800"}}',
        '{"env":{"name": "a\\u0000b"}}',
        '{"env":{"name": "CartPole-v1\\u0000"}}',
        '{"env":{"action": "res\\u0065t"}}',
        '{"\\u0065nv":{"action": "reset"}}',
        '{"env":{"seed": "\\u0034\\u0032"}}',
        '{"url":{"action": "\\u0075rl"}}',
        '{"env":{"name": "\\"}}',
        '{"env":{"name": "\\x41"}}',
      ]),
    );
  }
  return line.length > maxBytes ? line.subarray(0, maxBytes) : line;
}

/** A line terminator: mostly CRLF or LF, sometimes CR CR LF. */
function terminator(rng: Rng): string {
  const r = rng.next();
  return r < 0.5 ? '\r\n' : r < 0.95 ? '\n' : '\r\r\n';
}

/**
 * Splits bytes into lines as the protocol defines them (LF ends a line, one CR before it is part of
 * the terminator) — written independently of the server's LineReceiver, as an oracle.
 */
export function splitLines(stream: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = stream.indexOf(10); nl !== -1; nl = stream.indexOf(10, start)) {
    const end = nl > start && stream[nl - 1] === 13 ? nl - 1 : nl;
    lines.push(stream.subarray(start, end));
    start = nl + 1;
  }
  return { lines, rest: stream.subarray(start) };
}

// ---------------------------------------------------------------------------------------------
// The fuzzer: the oracle

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** What the server must answer to one line, given what the connection holds. */
export type Expectation =
  /** A silent request that succeeds: no reply. */
  | { type: 'silent'; request: Request }
  /** An error reply; `code` null when any code will do (the line made the parser itself fail). */
  | { type: 'error'; code: string | null }
  /** A request that gets a reply whose form depends on the connection's state (checked on arrival). */
  | { type: 'reply'; request: Request };

/** The little a client must track to know what comes back: does the connection hold an env, and compression. */
export class ConnectionModel {
  hasEnv = false;
  everHadEnv = false;
  compression = 0;
}

/** Classifies one line as the server will see it; pure (the model is updated by `checkReply` and `applySilent`). */
export function expectationFor(line: Buffer, model: ConnectionModel): Expectation {
  if (!isUtf8(line)) return { type: 'error', code: 'BAD_ENCODING' };
  let request: Request;
  try {
    request = parseRequest(line.toString('utf8'));
  } catch (err) {
    // A ProtocolError names its code; anything else (a stack overflow on deep input) may go either way
    // in a worker, whose stack differs from ours.
    return { type: 'error', code: err instanceof ProtocolError ? err.code : null };
  }
  switch (request.kind) {
    case 'compression':
      return { type: 'silent', request };
    case 'seed':
    case 'record_episode_stats':
    case 'close':
      return model.hasEnv ? { type: 'silent', request } : { type: 'error', code: 'NO_ENV' };
    default:
      return { type: 'reply', request };
  }
}

export function applySilent(request: Request, model: ConnectionModel): void {
  if (request.kind === 'compression') model.compression = request.level;
  if (request.kind === 'close') model.hasEnv = false;
}

const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
const REPLY_KEY: Partial<Record<Request['kind'], string>> = {
  make: 'instance',
  observationspace: 'info',
  actionspace: 'info',
  sample: 'sample',
  reset: 'observation',
  step: 'observation',
  contains: 'member',
  url: 'url',
};
/** Error codes a request may get when the connection holds an env (beyond ENV_FAILED, counted apart). */
const ALLOWED_ERRORS: Partial<Record<Request['kind'], string[]>> = {
  step: ['RESET_NEEDED', 'INVALID_ACTION'],
  contains: [],
  reset: [],
  sample: [],
  observationspace: [],
  actionspace: [],
  url: [],
};

/** What local `gym.make` says about a make request: null when it works, else the error code. */
function localMakeOutcome(name: string, kwargs: Record<string, unknown>): string | null {
  try {
    makeEnv(name, kwargs);
    return null;
  } catch (err) {
    return errorReplyFor(err).code;
  }
}

export interface CheckedReply {
  problem: string | null;
  code: string | null;
  message?: string;
}

/** Checks one reply against the expectation and updates the model; `problem` says what is wrong. */
export function checkReply(expect: Expectation, raw: Buffer, model: ConnectionModel, marker?: string): CheckedReply {
  let compressed: boolean;
  let value: unknown;
  try {
    ({ compressed, value } = decodeReply(raw));
  } catch (err) {
    return { problem: `unreadable reply (${(err as Error).message}): ${JSON.stringify(raw.subarray(0, 120).toString('latin1'))}`, code: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: `reply is not a JSON object: ${JSON.stringify(value)}`, code: null };
  const error = errorOf(value);
  if (error) {
    if (typeof error !== 'object' || typeof error.code !== 'string' || typeof error.message !== 'string' || Object.keys(value).length !== 1) {
      return { problem: `malformed error reply ${JSON.stringify(value).slice(0, 200)}`, code: null };
    }
    if (!KNOWN_CODES.has(error.code)) return { problem: `unknown error code ${error.code}`, code: error.code };
  }
  const code = error?.code ?? null;
  const request = expect.type === 'error' ? null : expect.request;
  const makeSucceeded = request?.kind === 'make' && !error;
  const wantCompressed = model.compression > 0 && !makeSucceeded;
  const ret = (problem: string | null): CheckedReply => ({ problem, code, message: error?.message });
  if (compressed !== wantCompressed) return ret(`reply is ${compressed ? 'compressed' : 'plain'}, expected ${wantCompressed ? 'compressed' : 'plain'} (level ${model.compression}): ${JSON.stringify(value).slice(0, 200)}`);
  if (code === 'ENV_LOST') return ret(`ENV_LOST: a worker thread died (${error!.message})`);

  if (expect.type === 'error') {
    if (!error) return ret(`expected an error${expect.code ? ' ' + expect.code : ''}, got ${JSON.stringify(value).slice(0, 200)}`);
    if (expect.code !== null && code !== expect.code) return ret(`expected ${expect.code}, got ${code}: ${error.message.slice(0, 200)}`);
    return ret(null);
  }
  if (expect.type === 'silent') return ret(`a reply to a silent request that should have succeeded: ${JSON.stringify(value).slice(0, 200)}`);

  const r = expect.request;
  if (r.kind === 'make') {
    const predicted = localMakeOutcome(r.name, r.kwargs);
    if (marker !== undefined) {
      if (code !== 'UNKNOWN_ENV' || !error!.message.includes(`'${marker}'`)) return ret(`the marker ${marker} was answered ${JSON.stringify(value).slice(0, 200)}: replies are out of step`);
      return ret(null);
    }
    if (!error) {
      if (predicted !== null) return ret(`make ${JSON.stringify(r.name)} succeeded, expected ${predicted}`);
      const instance = (value as { instance?: unknown }).instance;
      if (typeof instance !== 'string' || !/^[0-9a-f]{13}$/.test(instance)) return ret(`bad instance reply ${JSON.stringify(value)}`);
      model.hasEnv = model.everHadEnv = true;
      model.compression = 0;
      return ret(null);
    }
    if (code === 'TOO_MANY_ENVS' || code === 'ENV_FAILED') return ret(null);
    if (code !== predicted) return ret(`make ${JSON.stringify(r.name).slice(0, 80)} answered ${code}, expected ${predicted ?? 'an instance'}: ${error!.message.slice(0, 200)}`);
    return ret(null);
  }
  const key = REPLY_KEY[r.kind];
  if (!key) return ret(`unexpected request kind ${r.kind}`);
  const needsEnv = r.kind !== 'url';
  const hasWhatItNeeds = needsEnv ? model.hasEnv : model.everHadEnv;
  if (!hasWhatItNeeds) {
    if (code !== 'NO_ENV') return ret(`${r.kind} without an env answered ${JSON.stringify(value).slice(0, 200)}, expected NO_ENV`);
    return ret(null);
  }
  if (error) {
    if (code === 'ENV_FAILED' || ALLOWED_ERRORS[r.kind]?.includes(code!)) return ret(null);
    return ret(`${r.kind} answered ${code}: ${error.message.slice(0, 200)}`);
  }
  if (!(key in (value as object))) return ret(`${r.kind} answered ${JSON.stringify(value).slice(0, 200)}, expected "${key}"`);
  if (r.kind === 'url' && !String((value as { url: unknown }).url).includes('/recordings/')) return ret(`bad url reply ${JSON.stringify(value)}`);
  return ret(null);
}

// ---------------------------------------------------------------------------------------------
// The fuzzer: connections

export interface FuzzOptions {
  port: number;
  host?: string;
  seconds: number;
  seed: number;
  /** Fuzzing connections at once (the bystander comes on top). */
  connections: number;
  /** The server's --max-line-bytes: lines stay under it, except on purpose. */
  maxLineBytes: number;
  replyTimeoutMs?: number;
  /** Play CartPole on one more connection throughout and check every reply against a local reference. */
  bystander?: boolean;
  progressEveryMs?: number;
  onProgress?: (stats: FuzzStats, elapsedMs: number) => void;
}

export interface FuzzProblem {
  lane: number;
  line: string;
  problem: string;
}

export interface FuzzStats {
  seed: number;
  /** Complete lines sent on checked connections, and what became of them. */
  linesSent: number;
  linesExpectingReply: number;
  replies: number;
  okReplies: number;
  silentSucceeded: number;
  errorsByCode: Record<string, number>;
  /** Lines that expected a reply and got none (the connection closed or went quiet): must be 0. */
  unanswered: number;
  /** Replies that were not what the oracle expected (wrong code, out of order, bad framing): must be none. */
  problems: FuzzProblem[];
  /** ENV_FAILED replies (an exception the server did not classify), with the line that caused it. */
  envFailed: FuzzProblem[];
  /** Lines sent on connections that were then cut without reading (not checked). */
  uncheckedLines: number;
  bytesSent: number;
  connections: { checked: number; abrupt: number; midLine: number; lineTooLong: number; failedToConnect: number };
  bystander: { steps: number; episodes: number; mismatches: string[]; maxLatencyMs: number };
}

function newStats(seed: number): FuzzStats {
  return {
    seed,
    linesSent: 0,
    linesExpectingReply: 0,
    replies: 0,
    okReplies: 0,
    silentSucceeded: 0,
    errorsByCode: {},
    unanswered: 0,
    problems: [],
    envFailed: [],
    uncheckedLines: 0,
    bytesSent: 0,
    connections: { checked: 0, abrupt: 0, midLine: 0, lineTooLong: 0, failedToConnect: 0 },
    bystander: { steps: 0, episodes: 0, mismatches: [], maxLatencyMs: 0 },
  };
}

const preview = (line: Buffer) => {
  const text = JSON.stringify(line.subarray(0, 100).toString('latin1'));
  return line.length > 100 ? `${text}… (${line.length} bytes)` : text;
};

/** Writes bytes whole, in random pieces (split anywhere, also inside UTF-8 sequences), or byte by byte. */
async function writeSplit(conn: ReplySocket, data: Buffer, rng: Rng): Promise<void> {
  const mode = rng.next();
  if (mode < 0.5 || data.length < 2) {
    conn.write(data);
    return;
  }
  if (mode < 0.97 || data.length > 300) {
    const cuts = new Set<number>();
    for (let i = rng.range(1, 10); i > 0; i--) cuts.add(1 + rng.int(data.length - 1));
    let start = 0;
    for (const cut of [...cuts].sort((a, b) => a - b).concat(data.length)) {
      conn.write(data.subarray(start, cut));
      start = cut;
      if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
      else if (rng.chance(0.2)) await sleep(rng.int(3));
    }
    return;
  }
  for (let i = 0; i < data.length; i++) {
    conn.write(data.subarray(i, i + 1));
    if (rng.chance(0.3)) await new Promise((r) => setImmediate(r));
  }
}

interface Lane {
  index: number;
  rng: Rng;
  stats: FuzzStats;
  options: Required<Pick<FuzzOptions, 'port' | 'host' | 'maxLineBytes' | 'replyTimeoutMs'>>;
  markers: number;
}

/**
 * Sends lines, then reads the replies in lock step with the oracle. Returns false when the
 * connection cannot go on (a problem was recorded, or it closed).
 */
async function sendAndCheck(lane: Lane, conn: ReplySocket, model: ConnectionModel, lines: Buffer[], tail: Buffer, rng: Rng): Promise<boolean> {
  const { stats } = lane;
  const stream = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from(terminator(rng))]), tail]);
  const { lines: seen } = splitLines(stream);
  stats.bytesSent += stream.length;
  const writing = writeSplit(conn, stream, rng);
  for (let i = 0; i < seen.length; i++) {
    const line = seen[i];
    if (line.length > lane.options.maxLineBytes) throw new Error(`the fuzzer made a line over the limit (${line.length} bytes)`);
    stats.linesSent += 1;
    const expect = expectationFor(line, model);
    if (expect.type === 'silent') {
      applySilent(expect.request, model);
      stats.silentSucceeded += 1;
      continue;
    }
    stats.linesExpectingReply += 1;
    const raw = await conn.next(lane.options.replyTimeoutMs);
    if (raw === 'closed' || raw === 'timeout') {
      const left = seen.slice(i).filter((l) => expectationFor(l, model).type !== 'silent').length;
      stats.unanswered += left;
      stats.problems.push({ lane: lane.index, line: preview(line), problem: `no reply (${raw}); ${left} line(s) unanswered` });
      await writing;
      return false;
    }
    stats.replies += 1;
    const markerMatch = /^\{"env":\{"name": "(Marker-[0-9-]+)"\}\}$/.exec(line.toString('latin1'));
    const checked = checkReply(expect, raw, model, markerMatch?.[1]);
    if (checked.code) stats.errorsByCode[checked.code] = (stats.errorsByCode[checked.code] ?? 0) + 1;
    else stats.okReplies += 1;
    if (checked.code === 'ENV_FAILED' && stats.envFailed.length < 20) stats.envFailed.push({ lane: lane.index, line: preview(line), problem: checked.message ?? '' });
    if (checked.problem) {
      stats.problems.push({ lane: lane.index, line: preview(line), problem: checked.problem });
      await writing;
      return false;
    }
  }
  await writing;
  return true;
}

function marker(lane: Lane): Buffer {
  return Buffer.from(CPP.make(`Marker-${lane.index}-${lane.markers++}`));
}

function batch(lane: Lane): Buffer[] {
  const { rng } = lane;
  const lines: Buffer[] = [];
  const limit = lane.options.maxLineBytes - 16;
  if (rng.chance(0.05)) {
    // A burst: many valid requests in one write.
    lines.push(Buffer.from(CPP.make('CartPole-v1')), Buffer.from(CPP.reset));
    for (let i = rng.range(100, 600); i > 0; i--) lines.push(Buffer.from(rng.chance(0.9) ? CPP.step(String(rng.int(2))) : rng.chance(0.5) ? CPP.reset : CPP.sample));
  } else {
    for (let i = rng.range(1, 40); i > 0; i--) lines.push(generateLine(rng, limit));
  }
  lines.push(marker(lane));
  return lines;
}

/** A connection whose every reply is checked; it ends cleanly, or abruptly in the middle of a line. */
async function checkedConnection(lane: Lane, deadline: number): Promise<void> {
  const { rng, stats } = lane;
  const conn = await ReplySocket.connect(lane.options.port, lane.options.host).catch(() => null);
  if (!conn) {
    stats.connections.failedToConnect += 1;
    return;
  }
  stats.connections.checked += 1;
  const model = new ConnectionModel();
  let ok = true;
  for (let b = rng.range(1, 8); b > 0 && ok && Date.now() < deadline; b--) ok = await sendAndCheck(lane, conn, model, batch(lane), Buffer.alloc(0), rng);
  if (!ok) {
    conn.destroy();
    return;
  }
  if (rng.chance(0.3)) {
    // Abrupt disconnect in the middle of a line (possibly inside a UTF-8 sequence).
    stats.connections.midLine += 1;
    const partial = Buffer.from(generateLine(rng, lane.options.maxLineBytes - 16).map((b) => (b === 10 ? 32 : b)));
    conn.write(partial.subarray(0, 1 + rng.int(partial.length)));
    if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
    conn.destroy(rng.chance(0.5));
    return;
  }
  await conn.end();
  if (conn.queued > 0 || conn.partial > 0) {
    stats.problems.push({ lane: lane.index, line: '(end of connection)', problem: `${conn.queued} unexpected extra repl(ies) and ${conn.partial} stray bytes after the last expected reply` });
  }
}

/** A connection that sends lines (and half a line) and disconnects without reading: not checked, only survived. */
async function abruptConnection(lane: Lane): Promise<void> {
  const { rng, stats } = lane;
  const conn = await ReplySocket.connect(lane.options.port, lane.options.host).catch(() => null);
  if (!conn) {
    stats.connections.failedToConnect += 1;
    return;
  }
  stats.connections.abrupt += 1;
  const lines: Buffer[] = rng.chance(0.5) ? [Buffer.from(CPP.make(rng.pick(ENV_IDS))), Buffer.from(CPP.reset)] : [];
  for (let i = rng.range(0, 30); i > 0; i--) lines.push(rng.chance(0.5) ? Buffer.from(CPP.step(String(rng.int(2)))) : generateLine(rng, lane.options.maxLineBytes - 16));
  const data = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\r\n')]), generateLine(rng, 200)]);
  stats.uncheckedLines += lines.length;
  stats.bytesSent += data.length;
  conn.write(data);
  const wait = rng.next();
  if (wait < 0.3) {
    // same tick
  } else if (wait < 0.6) await new Promise((r) => setImmediate(r));
  else await sleep(rng.int(30));
  conn.destroy(rng.chance(0.5));
}

/** A connection that sends a line over the limit: earlier lines answered, then LINE_TOO_LONG, then the server closes. */
async function tooLongConnection(lane: Lane): Promise<void> {
  const { rng, stats } = lane;
  const conn = await ReplySocket.connect(lane.options.port, lane.options.host).catch(() => null);
  if (!conn) {
    stats.connections.failedToConnect += 1;
    return;
  }
  stats.connections.lineTooLong += 1;
  const model = new ConnectionModel();
  if (!(await sendAndCheck(lane, conn, model, batch(lane), Buffer.alloc(0), rng))) {
    conn.destroy();
    return;
  }
  const size = lane.options.maxLineBytes + rng.range(2, 5000);
  const long = Buffer.alloc(size, rng.pick(['x', ' ', '[', '7']));
  // Sometimes with a newline and more requests after it: those must not be answered.
  const after = rng.chance(0.5) ? Buffer.from('\r\n' + (CPP.url + '\r\n').repeat(3)) : Buffer.alloc(0);
  stats.bytesSent += long.length + after.length;
  conn.write(Buffer.concat([long, after]));
  const raw = await conn.next(lane.options.replyTimeoutMs);
  if (raw === 'closed' || raw === 'timeout') {
    stats.linesSent += 1;
    stats.linesExpectingReply += 1;
    stats.unanswered += 1;
    stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: `no LINE_TOO_LONG reply (${raw})` });
    conn.destroy();
    return;
  }
  stats.linesSent += 1;
  stats.linesExpectingReply += 1;
  stats.replies += 1;
  const checked = checkReply({ type: 'error', code: 'LINE_TOO_LONG' }, raw, model);
  if (checked.code) stats.errorsByCode[checked.code] = (stats.errorsByCode[checked.code] ?? 0) + 1;
  if (checked.problem) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: checked.problem });
  await within(conn.closed, lane.options.replyTimeoutMs);
  if (!conn.isClosed) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: 'the server did not close the connection after LINE_TOO_LONG' });
  else if (conn.queued > 0) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: `${conn.queued} repl(ies) after LINE_TOO_LONG` });
  conn.destroy();
}

async function runLane(lane: Lane, deadline: number, stop: () => boolean): Promise<void> {
  while (Date.now() < deadline && !stop()) {
    const r = lane.rng.next();
    if (r < 0.72) await checkedConnection(lane, deadline);
    else if (r < 0.95) await abruptConnection(lane);
    else await tooLongConnection(lane);
  }
}

/**
 * Plays seeded CartPole episodes in a closed loop while `running()` holds (at most `maxEpisodes`),
 * comparing every reply byte for byte with a reference session in this process.
 */
export async function bystander(
  port: number,
  host: string,
  stats: FuzzStats['bystander'],
  running: () => boolean,
  options: { replyTimeoutMs?: number; maxEpisodes?: number; firstSeed?: number } = {},
): Promise<void> {
  const conn = await ReplySocket.connect(port, host);
  const reference = referenceSession();
  let lastReply = '';
  const ask = async (line: string): Promise<boolean> => {
    const expected = referenceReply(reference, line);
    conn.write(line + '\r\n');
    if (expected === null) return true;
    lastReply = expected;
    const t0 = performance.now();
    const raw = await conn.next(options.replyTimeoutMs ?? 10_000);
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, performance.now() - t0);
    if (typeof raw === 'string') throw new Error(`bystander: no reply to ${line} (${raw})`);
    const got = raw.toString('utf8');
    if (line.includes('"name"') ? !/^\{"instance": "[0-9a-f]{13}"\}$/.test(got) : got !== expected) {
      stats.mismatches.push(`${line} → ${got.slice(0, 160)} (expected ${expected.slice(0, 160)})`);
      return false;
    }
    return true;
  };
  try {
    if (!(await ask(CPP.make('CartPole-v1')))) return;
    const firstSeed = options.firstSeed ?? 1000;
    for (let episode = 0; running() && episode < (options.maxEpisodes ?? Infinity); episode++) {
      if (!(await ask(CPP.seed(firstSeed + episode))) || !(await ask(CPP.reset)) || !(await ask(CPP.sample))) return;
      for (let t = 0; t < 500 && running(); t++) {
        // A fixed policy: both sides follow the same trajectory, and episodes end by themselves.
        if (!(await ask(CPP.step((episode + t * 7) % 3 === 0 ? '0' : '1')))) return;
        stats.steps += 1;
        if (lastReply.includes('"done": true')) {
          stats.episodes += 1;
          break;
        }
      }
    }
  } catch (err) {
    stats.mismatches.push((err as Error).message);
  } finally {
    await conn.end();
  }
}

/** Runs the fuzzer against a server; resolves when every connection has finished. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const stats = newStats(options.seed);
  const host = options.host ?? '127.0.0.1';
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  let stopped = false;
  const laneOptions = { port: options.port, host, maxLineBytes: options.maxLineBytes, replyTimeoutMs: options.replyTimeoutMs ?? 10_000 };
  const lanes = Array.from({ length: options.connections }, (_, index): Lane => ({ index, rng: new Rng(options.seed, index + 1), stats, options: laneOptions, markers: 0 }));
  const progress = options.onProgress
    ? setInterval(() => options.onProgress!(stats, Date.now() - started), options.progressEveryMs ?? 5000)
    : null;
  let lanesRunning = lanes.length;
  const bystanderDone = options.bystander
    ? bystander(options.port, host, stats.bystander, () => lanesRunning > 0 && !stopped, { replyTimeoutMs: laneOptions.replyTimeoutMs })
    : Promise.resolve();
  try {
    await Promise.all(
      lanes.map((lane) =>
        runLane(lane, deadline, () => stopped || stats.problems.length > 50).finally(() => {
          lanesRunning -= 1;
        }),
      ),
    );
  } finally {
    stopped = true;
    await bystanderDone;
    if (progress) clearInterval(progress);
  }
  return stats;
}

export function summarizeFuzz(stats: FuzzStats): string {
  const codes = Object.entries(stats.errorsByCode).sort((a, b) => b[1] - a[1]);
  const lines = [
    `seed ${stats.seed}`,
    `lines sent on checked connections ${fmt(stats.linesSent)}: ${fmt(stats.linesExpectingReply)} expecting a reply, ${fmt(stats.silentSucceeded)} silent and successful`,
    `replies ${fmt(stats.replies)} (${fmt(stats.okReplies)} ok, ${fmt(stats.replies - stats.okReplies)} errors); unanswered lines ${stats.unanswered} (must be 0); problems ${stats.problems.length} (must be 0)`,
    `connections: ${stats.connections.checked} checked (${stats.connections.midLine} cut mid-line at the end), ${stats.connections.abrupt} abrupt (${fmt(stats.uncheckedLines)} lines unchecked), ${stats.connections.lineTooLong} over the line limit, ${stats.connections.failedToConnect} failed to connect`,
    `bytes sent ${fmt(stats.bytesSent)}`,
    `bystander: ${fmt(stats.bystander.steps)} steps, ${stats.bystander.episodes} episodes, ${stats.bystander.mismatches.length} mismatches, max latency ${stats.bystander.maxLatencyMs.toFixed(1)} ms`,
    'errors by code:',
    ...codes.map(([code, n]) => `  ${code.padEnd(20)} ${fmt(n)}`),
  ];
  if (stats.envFailed.length) lines.push('ENV_FAILED replies (an exception the server did not classify):', ...stats.envFailed.slice(0, 5).map((p) => `  ${p.line} → ${p.problem}`));
  if (stats.problems.length) lines.push('PROBLEMS:', ...stats.problems.slice(0, 20).map((p) => `  [lane ${p.lane}] ${p.line}: ${p.problem}`));
  if (stats.bystander.mismatches.length) lines.push('BYSTANDER MISMATCHES:', ...stats.bystander.mismatches.slice(0, 5).map((m) => '  ' + m));
  return lines.join('\n');
}

/** Plays one full seeded CartPole episode on a fresh connection and checks every reply against the reference. */
export async function cleanEpisode(port: number, host = '127.0.0.1', seed = 42): Promise<FuzzStats['bystander']> {
  const stats = { steps: 0, episodes: 0, mismatches: [] as string[], maxLatencyMs: 0 };
  await bystander(port, host, stats, () => true, { maxEpisodes: 1, firstSeed: seed });
  return stats;
}
