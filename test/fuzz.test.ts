/**
 * Hostile input, bounded for CI: a seeded fuzzer (scripts/lib/fuzz-run.ts; `npm run fuzz` runs it longer
 * against a spawned server) throws mutated and random request lines at a real server over several
 * connections at once, and checks every reply in order against an oracle:
 *
 * - a line that cannot be parsed (bad UTF-8, bad JSON, unknown command, wrong fields…) gets exactly
 *   one error reply with the code the server's own parser gives for it;
 * - a request gets exactly one reply of its kind (or NO_ENV when the connection has no env), except
 *   the silent ones that succeed, which get none;
 * - each batch ends with a `{"env":{"name": "Marker-…"}}` whose UNKNOWN_ENV reply echoes the marker,
 *   so a missing or extra reply anywhere shows up at once;
 * - compression is on exactly when the connection asked for it.
 *
 * Meanwhile a bystander connection plays CartPole and compares every reply byte for byte with a
 * reference session in this process. Afterwards the server is alive, every connection is gone, and
 * a clean client plays a full episode.
 *
 * FUZZ_SEED=<n> replays a run (the seed is printed); FUZZ_SECONDS=<n> runs longer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP } from '../src/protocol/messages.js';
import { until } from '../scripts/lib/wait.js';
import { chooseSeed } from '../scripts/lib/rng.js';
import { ReplySocket, decodeReply } from '../scripts/lib/reply-socket.js';
import { ConnectionModel, applySilent, checkReply, expectationFor, splitLines } from '../scripts/lib/oracle.js';
import { cleanEpisode } from '../scripts/lib/bystander.js';
import { runFuzz, summarizeFuzz } from '../scripts/lib/fuzz-run.js';
import { startServer } from './helpers.js';

const MAX_LINE_BYTES = 65_536;
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 6);
const SEED = chooseSeed(process.env.FUZZ_SEED);

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer({ workers: 2, maxLineBytes: MAX_LINE_BYTES });
});
afterAll(() => server.close());

async function allGone(s: GymTcpServer, timeoutMs = 5000): Promise<number> {
  await until(() => s.connectionCount === 0, timeoutMs);
  return s.connectionCount;
}

/** Sends lines on one connection and checks each reply with the oracle; returns the error codes seen. */
async function sendChecked(lines: (string | Buffer)[], s: GymTcpServer = server): Promise<(string | null)[]> {
  const conn = await ReplySocket.connect(s.address().port);
  const model = new ConnectionModel();
  const codes: (string | null)[] = [];
  const bytes = Buffer.concat(lines.flatMap((l) => [Buffer.isBuffer(l) ? l : Buffer.from(l), Buffer.from('\r\n')]));
  conn.write(bytes);
  for (const line of splitLines(bytes).lines) {
    const expect_ = expectationFor(line, model);
    if (expect_.type === 'silent') {
      applySilent(expect_.request, model);
      codes.push('(silent)');
      continue;
    }
    const raw = await conn.next(10_000);
    if (typeof raw === 'string') throw new Error(`no reply to ${JSON.stringify(line.toString('latin1').slice(0, 80))}: ${raw}`);
    const checked = checkReply(expect_, raw, model);
    expect(checked.problem, line.toString('latin1').slice(0, 200)).toBeNull();
    codes.push(checked.code);
  }
  // The marker proves nothing extra is on its way.
  conn.write(CPP.make('Marker-end') + '\r\n');
  const last = await conn.next(10_000);
  expect(typeof last === 'string' ? last : JSON.stringify(decodeReply(last).value)).toContain("'Marker-end'");
  await conn.end();
  return codes;
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('fuzzing', () => {
  it(`answers every complete line of ${SECONDS} s of hostile input exactly as the oracle expects, and disturbs nobody`, async () => {
    console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    const stats = await runFuzz({ port: server.address().port, seconds: SECONDS, seed: SEED, connections: 4, maxLineBytes: MAX_LINE_BYTES, bystander: true });
    const summary = summarizeFuzz(stats);
    console.log(summary);

    // Every complete line was answered as expected, in order, with nothing extra.
    expect(stats.problems, summary).toEqual([]);
    expect(stats.unanswered, summary).toBe(0);
    expect(stats.replies).toBe(stats.linesExpectingReply);
    expect(stats.replies + stats.silentSucceeded).toBe(stats.linesSent);
    // The run was substantial and hostile enough to mean something.
    expect(stats.linesSent).toBeGreaterThan(1000);
    expect(stats.connections.checked + stats.connections.abrupt).toBeGreaterThan(20);
    for (const code of ['BAD_ENCODING', 'EMPTY_LINE', 'BAD_JSON', 'UNKNOWN_COMMAND', 'BAD_REQUEST', 'UNKNOWN_ENV', 'NO_ENV']) {
      expect(stats.errorsByCode[code] ?? 0, code).toBeGreaterThan(0);
    }
    // The bystander's CartPole went on undisturbed, reply for reply.
    expect(stats.bystander.mismatches).toEqual([]);
    expect(stats.bystander.steps).toBeGreaterThan(20); // few when CI shares the cores with other test files

    // Afterwards: every connection is gone, the server is alive, a clean client plays a full episode.
    expect(await allGone(server)).toBe(0);
    // …and every environment the fuzz made, abrupt disconnects included, was freed.
    expect(await until(() => server.pool.envBudget.total === 0, 3000), `${server.pool.envBudget.total} envs still held`).toBe(true);
    const episode = await cleanEpisode(server.address().port, '127.0.0.1', SEED);
    expect(episode.mismatches).toEqual([]);
    expect(episode.episodes).toBe(1);
    expect(episode.steps).toBeGreaterThan(5);
  }, (SECONDS + 90) * 1000);

  it('answers each item of the hostile catalogue with the right error and keeps the connection', async () => {
    const invalidUtf8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80]];
    const codes = await sendChecked([
      CPP.make('CartPole-v1'),
      CPP.reset,
      // Malformed JSON, wrong types, unknown commands and keys.
      '{not json',
      '{"env":{"action": "reset"}',
      '[1, 2]',
      '{"env":{"action": "reset"}, "step":{"action":1}}',
      '{"step":{"action":1, "render":0, "foo":2}}',
      '{"server":{"compression": "10"}}',
      '{"env":{"seed": true}}',
      '{"__proto__":{"action": "reset"}}',
      '{"constructor":{}}',
      '{"env":{"name": "__proto__"}}',
      // Deep nesting, huge numbers.
      deep(10_000),
      `{"step":{"action":${deep(10_000)}, "render":0}}`,
      `{"env":{"seed": ${deep(10_000)}}}`,
      '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
      '{"step":{"action":1e400, "render":0}}',
      '{"step":{"action":123456789012345678901234567890, "render":0}}',
      '{"env":{"seed": 123456789012345678901234567890}}',
      '{"env":{"seed": 1e400}}',
      `{"env":{"seed": "${'9'.repeat(1000)}"}}`,
      // Invalid UTF-8, NUL bytes, a lone CR, blank lines.
      ...invalidUtf8.map((b) => Buffer.concat([Buffer.from('{"env":{"name": "'), Buffer.from(b), Buffer.from('"}}')])),
      Buffer.from([0x7b, 0x00, 0x7d]),
      '{"env":{"action": "re\0set"}}',
      '{"env":{"action":\r "reset"}}',
      '\r',
      '',
      '   ',
      '\ufeff' + CPP.url,
      // Still alive and in step.
      CPP.step('1'),
      CPP.url,
    ]);
    expect(codes.slice(0, 2)).toEqual([null, null]);
    expect(codes).toContain('BAD_ENCODING');
    expect(codes.at(-2)).toBeNull(); // the step still works
    expect(codes.at(-1)).toBeNull(); // and the url
  });

  it('closes only the connection whose line is over the limit, after answering every earlier line', async () => {
    const conn = await ReplySocket.connect(server.address().port);
    conn.write(`${CPP.make('CartPole-v1')}\r\n${CPP.reset}\r\n{bad\r\n` + 'x'.repeat(MAX_LINE_BYTES + 10) + `\r\n${CPP.url}\r\n`);
    const replies = [];
    for (let r = await conn.next(); typeof r !== 'string'; r = await conn.next()) replies.push(decodeReply(r).value as Record<string, any>);
    expect(replies.map((r) => r.error?.code ?? Object.keys(r)[0])).toEqual(['instance', 'observation', 'BAD_JSON', 'LINE_TOO_LONG']);
    expect(conn.closedByPeer).toBe(true);
  });

  /*
   * Regression (found by this suite, fixed in 2eb5f17): nesting deeper than the worker's stack was
   * answered ENV_FAILED ("Maximum call stack size exceeded"); requests are now refused past a fixed
   * depth with BAD_REQUEST.
   */
  it('answers nesting deeper than the stack with the request error, not ENV_FAILED', async () => {
    const s = await startServer({ workers: 1 }); // the default 1 MiB line limit
    try {
      const codes = await sendChecked([CPP.make('CartPole-v1'), CPP.reset, `{"step":{"action":${deep(100_000)}, "render":0}}`, `{"env":${deep(100_000)}}`], s);
      expect(codes.slice(2)).toEqual(['BAD_REQUEST', 'BAD_REQUEST']);
    } finally {
      await s.close();
    }
  });

  /*
   * Regression (found by this suite, fixed in 2eb5f17): a body of maxLineBytes + 1 bytes ending in a
   * bare LF used to slip under the line limit.
   */
  it('refuses a body one byte over the limit whatever its terminator', async () => {
    const s = await startServer({ workers: 1, maxLineBytes: 64 });
    try {
      const conn = await ReplySocket.connect(s.address().port);
      conn.write(' '.repeat(64) + '\r\n'); // exactly the limit: fine
      conn.write(' '.repeat(64) + '\n');
      conn.write(' '.repeat(65) + '\n'); // one over
      const codes = [];
      for (let r = await conn.next(1000); typeof r !== 'string'; r = await conn.next(1000)) codes.push((decodeReply(r).value as any).error.code);
      expect(codes).toEqual(['EMPTY_LINE', 'EMPTY_LINE', 'LINE_TOO_LONG']);
    } finally {
      await s.close();
    }
  });
});
