/**
 * The options table of `gym-tcp serve` (src/config/options.ts) and what follows from it: commander's
 * options and --help, the environment variables, the fronts' defaults, the values the CLI passes the
 * fronts, the README's tables. The CLI itself is spawned where only it can say: its exit code, and
 * what main.ts passes on.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVE_OPTIONS, frontSettings, type OptionValues, type ServeOption } from '../src/config/options.js';
import { addServeOptions } from '../src/cli/serve-options.js';
import { optionsTable, withOptionsTables } from '../src/cli/readme-options.js';
import { DEFAULT_REST_OPTIONS } from '../src/http/rest-server.js';
import { DEFAULT_SERVER_OPTIONS } from '../src/server/tcp-server.js';

const GYM_TCP_BIN = fileURLToPath(new URL('../bin/gym-tcp.js', import.meta.url));
const options = Object.entries(SERVE_OPTIONS) as [string, ServeOption][];

/** Parses `args` (and the environment) as `gym-tcp serve` does; a rejection throws commander's message. */
function parse(args: string[]): OptionValues {
  let stderr = '';
  const serve = addServeOptions(new Command('serve'))
    .exitOverride()
    .configureOutput({ writeErr: (text) => (stderr += text) });
  try {
    serve.parse(args, { from: 'user' });
  } catch {
    throw new Error(stderr.trim());
  }
  return serve.opts<OptionValues>();
}

const setEnv: string[] = [];
function env(name: string, value: string): void {
  setEnv.push(name);
  process.env[name] = value;
}
afterEach(() => {
  for (const name of setEnv.splice(0)) delete process.env[name];
});

describe('the options table', () => {
  it('names each option as commander does, and its environment variable after its long flag', () => {
    for (const [name, option] of options) {
      expect(new Option(option.flags).attributeName()).toBe(name);
      const long = /--([a-z-]+)/.exec(option.flags)![1];
      expect(option.env).toBe(`GYM_TCP_${long.replaceAll('-', '_').toUpperCase()}`);
    }
  });

  it('gives each option a default its own parser accepts', () => {
    for (const [, option] of options.filter(([, o]) => o.default !== undefined && o.flags.includes('<'))) {
      expect(option.value.parse(String(option.default))).toBe(option.default);
    }
  });

  it('gives the fronts the defaults the CLI serves with', () => {
    const none = parse([]);
    expect({ ...DEFAULT_SERVER_OPTIONS, ...frontSettings('tcp', none) }).toEqual(DEFAULT_SERVER_OPTIONS);
    expect({ ...DEFAULT_REST_OPTIONS, ...frontSettings('rest', none) }).toEqual(DEFAULT_REST_OPTIONS);
  });

  it("sets each front's fields from flags, in the front's units, one flag setting both fronts where it says so", () => {
    const values = parse(['--host', '::1', '--idle-timeout', '5', '--rest-idle-timeout', '7', '--max-line-bytes', '100', '--drain-timeout', '3', '--spin-us', '0']);
    expect(frontSettings('tcp', values)).toMatchObject({ host: '::1', idleTimeoutMs: 5000, maxLineBytes: 100, drainTimeoutMs: 3, spinMicros: 0 });
    expect(frontSettings('rest', values)).toMatchObject({ host: '::1', idleTimeoutMs: 7000, maxBodyBytes: 100, drainTimeoutMs: 3, allowShutdown: false });
    expect(frontSettings('tcp', parse(['--public-url', 'http://lb:80', '--auth-token', 't']))).toMatchObject({ publicUrl: 'http://lb:80', authToken: 't' });
  });

  it('reads each option from its environment variable when the flag is not given; the flag wins', () => {
    env('GYM_TCP_WORKERS', '3');
    env('GYM_TCP_REST_MAX_ENVS', '12');
    env('GYM_TCP_MONITOR_ROOT', '/srv/monitor');
    expect(frontSettings('tcp', parse([])).workers).toBe(3);
    expect(frontSettings('tcp', parse(['-w', '2'])).workers).toBe(2);
    expect(frontSettings('rest', parse([]))).toMatchObject({ maxEnvs: 12, monitorRoot: '/srv/monitor' });
    // A switch is on whatever its variable holds.
    env('GYM_TCP_ALLOW_SHUTDOWN', '0');
    expect(frontSettings('rest', parse([])).allowShutdown).toBe(true);
  });

  it('rejects a value out of range or not an integer, from a flag or from the environment, with its range', () => {
    expect(() => parse(['--port', 'abc'])).toThrow("error: option '-p, --port <port>' argument 'abc' is invalid. expected an integer from 0 to 65535");
    expect(() => parse(['--workers', '1.5'])).toThrow('expected an integer from 1 to 256');
    expect(() => parse(['--max-line-bytes', '63'])).toThrow('expected an integer from 64 to 1073741824');
    expect(() => parse(['--rest-idle-timeout', 'Infinity'])).toThrow('expected an integer from 0 to 31536000');
    env('GYM_TCP_SPIN_US', '-1');
    expect(() => parse([])).toThrow("error: option '--spin-us <µs>' value '-1' from env 'GYM_TCP_SPIN_US' is invalid. expected an integer from 0 to 10000");
  });

  it('reads numbers as Number() does, as the CLI always has', () => {
    expect(parse(['--port', '0x10', '--max-pipeline', '1e3']).port).toBe(16);
    expect(parse(['--max-pipeline', '1e3']).maxPipeline).toBe(1000);
  });
});

describe('the README', () => {
  it("has the tables the options table makes (else: npm run docs:options)", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(withOptionsTables(readme), 'the README is out of date: npm run docs:options').toBe(readme);
    expect(readme).toContain(optionsTable('rest'));
  });

  it('lists every option with its variable and default, and the REST front alone again', () => {
    const all = optionsTable();
    for (const [, option] of options) expect(all).toContain(`| \`${option.flags}\` | \`${option.env}\``);
    expect(all).toContain('| `-p, --port <port>` | `GYM_TCP_PORT` | `4040` |');
    expect(all).toContain('| `--allow-shutdown` | `GYM_TCP_ALLOW_SHUTDOWN` (any value) | off |');
    const rest = optionsTable('rest');
    expect(rest).toContain('--http-port');
    expect(rest).not.toContain('--workers');
  });
});

describe('gym-tcp serve', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [GYM_TCP_BIN, 'serve', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });

  it('--help shows every option with its environment variable, and its default', () => {
    const text = addServeOptions(new Command('serve')).helpInformation().replace(/\s+/g, ' ');
    for (const [, option] of options) {
      expect(text).toContain(option.flags);
      expect(text).toContain(`env: ${option.env})`);
    }
    expect(text).toContain('(default: 4040, env: GYM_TCP_PORT)');
    expect(text).toContain('(default: off) (env: GYM_TCP_HTTP_PORT)');
  });

  it('exits 1 with the range of a bad value (here from the environment)', () => {
    const badEnv = cli([], { GYM_TCP_WORKERS: '0' });
    expect(badEnv.status).toBe(1);
    expect(badEnv.stderr).toContain("value '0' from env 'GYM_TCP_WORKERS' is invalid. expected an integer from 1 to 256");
  });

  it('serves TCP and REST as its environment says, and stops on POST /v1/shutdown/ when allowed', async () => {
    const child = spawn(process.execPath, [GYM_TCP_BIN, 'serve'], {
      env: { ...process.env, GYM_TCP_PORT: '0', GYM_TCP_WORKERS: '1', GYM_TCP_HTTP_PORT: '0', GYM_TCP_ALLOW_SHUTDOWN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const http = /HTTP listening on [^\s]+:(\d+)/.exec(out);
        if (http) resolve(Number(http[1]));
      });
      child.stderr.on('data', (chunk) => (out += chunk));
      void exited.then((code) => reject(new Error(`exited ${code} before listening: ${out}`)));
    });
    expect(out).toMatch(/listening on 127\.0\.0\.1:\d+ with 1 worker threads/);
    const answer = await fetch(`http://127.0.0.1:${port}/v1/shutdown/`, { method: 'POST' });
    expect(answer.status).toBe(200);
    expect(await exited).toBe(0);
  });
});
