/**
 * The wire protocol of docs/protocol.md, checked over real TCP sockets against a real server with real
 * worker threads, byte for byte where the C++ client depends on bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inflateSync } from 'node:zlib';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { parseRequest } from '../src/protocol/request.js';
import { Session } from '../src/protocol/session.js';
import { CPP } from '../src/protocol/messages.js';
import { RawClient, golden, startServer } from './helpers.js';

let server: GymTcpServer;
beforeAll(async () => {
  server = await startServer({ maxLineBytes: 4096 });
});
afterAll(() => server.close());

const cartpole = golden('CartPole-v1.json');
const FLOAT = /^-?\d+\.\d+(e[+-]\d+)?$|^-?\d(\.\d+)?e[+-]\d+$/;

describe('the C++ client session', () => {
  it('make, spaces, seed, reset, sample, step, stats, compression, close, url — exact bytes', async () => {
    const c = await RawClient.connect(server);
    c.send(CPP.make('CartPole-v1') + '\r\n');
    const made = (await c.nextRaw()).toString();
    expect(made).toMatch(/^\{"instance": "[0-9a-f]{13}"\}$/);
    const instance = JSON.parse(made).instance;

    c.send(CPP.observationSpace + '\r\n');
    expect((await c.nextRaw()).toString()).toBe(
      '{"info": {"name": "Box", "shape": [4], "low": [-4.800000190734863, -1e+100, -0.41887903213500977, -1e+100], ' +
        '"high": [4.800000190734863, 1e+100, 0.41887903213500977, 1e+100], "dtype": "float32"}}',
    );
    c.send(CPP.actionSpace + '\r\n');
    expect(JSON.parse((await c.nextRaw()).toString())).toEqual({ info: { name: 'Discrete', n: 2, start: 0, dtype: 'int64' } });

    // Seeding is silent: the next reply belongs to the reset.
    c.send(CPP.seed(42) + '\r\n');
    c.send(CPP.reset + '\r\n');
    const reset = await c.nextJson();
    const expected = cartpole.reset_by_seed.find((r: any) => r.seed === 42);
    expect(reset.observation).toEqual(expected.obs);
    expect(reset.info).toEqual({});

    // The action space was seeded with the same seed: samples are Gymnasium's action_space.seed(42).
    const samples = [];
    for (let i = 0; i < 5; i++) samples.push((await c.ask(CPP.sample)).sample);
    expect(samples).toEqual(cartpole.action_sample_by_seed.find((s: any) => s.seed === 42).samples.slice(0, 5));

    c.send(CPP.step('1') + '\r\n');
    const stepText = (await c.nextRaw()).toString();
    expect(stepText).toMatch(/^\{"observation": \[[^\]]+\], "reward": 1\.0, "done": false, "info": \{\}, "terminated": false, "truncated": false\}$/);

    c.send(CPP.compression(9) + '\r\n');
    c.send(CPP.recordStats + '\r\n');
    let last: any;
    for (let i = 0; i < 600; i++) {
      c.send(CPP.step('1', 1) + '\r\n');
      const raw = await c.nextRaw();
      expect(raw[0]).toBe(0x78);
      expect(raw[1]).toBe(0xda);
      last = JSON.parse(inflateSync(raw).toString());
      if (last.done) break;
    }
    expect(last.done).toBe(true);
    expect(last.terminated).toBe(true);
    expect(Number.isInteger(last.info.episode.l)).toBe(true);
    expect(last.info.episode.r).toBe(last.info.episode.l); // +1.0 per step, first step included
    expect(last.info.episode.t).toBeGreaterThanOrEqual(0);

    c.send(CPP.close + '\r\n');
    c.send(CPP.url + '\r\n');
    const url = await c.nextJson(true);
    expect(url.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.address().port}/recordings/${instance}\\.mp4$`));

    // After close the env is gone, the connection is not.
    c.send(CPP.reset + '\r\n');
    expect((await c.nextJson(true)).error.code).toBe('NO_ENV');
    // name resets compression to 0: the instance reply is plain.
    c.send(CPP.make('CartPole-v0') + '\r\n');
    expect((await c.nextRaw()).toString()).toMatch(/^\{"instance": "[0-9a-f]{13}"\}$/);
    expect((await c.ask(CPP.reset)).observation).toHaveLength(4);
    await c.end();
  });

  it('episode statistics report return, length and time on the step that ends the episode', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    c.send(CPP.recordStats + '\r\n' + CPP.seed(7) + '\r\n');
    await c.ask(CPP.reset);
    const episode = cartpole.episodes[0];
    let text = '';
    for (const step of episode.steps) {
      c.send(CPP.step(String(step.action)) + '\r\n');
      text = (await c.nextRaw()).toString();
    }
    expect(text).toMatch(new RegExp(`"info": \\{"episode": \\{"r": ${episode.length}\\.0, "l": ${episode.length}, "t": \\d+\\.\\d+`));
    expect(text).toContain('"done": true');
    await c.end();
  });

  it('writes floats as floats and integers as integers', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    c.send(CPP.seed(0) + '\r\n');
    await c.ask(CPP.reset);
    c.send(CPP.step('0') + '\r\n');
    const text = (await c.nextRaw()).toString();
    const numbers = text.match(/\[([^\]]+)\]/)![1].split(', ');
    for (const n of numbers) expect(n).toMatch(FLOAT);
    expect(text).toContain('"reward": 1.0');
    c.send(CPP.sample + '\r\n');
    expect((await c.nextRaw()).toString()).toMatch(/^\{"sample": [01]\}$/);
    await c.end();
  });
});

describe('framing and order', () => {
  it('accepts LF-only terminators and answers pipelined requests in order, silent ones silent', async () => {
    const c = await RawClient.connect(server);
    const lines = [CPP.make('CartPole-v1'), CPP.seed(1), CPP.reset];
    for (let i = 0; i < 100; i++) lines.push(i % 10 === 0 ? CPP.recordStats : i % 7 === 0 ? CPP.sample : CPP.step(String(i % 2)));
    lines.push(CPP.compression(0), CPP.url);
    c.send(lines.join('\n') + '\n');
    const expectedKinds = lines
      .filter((l) => !l.includes('"seed"') && !l.includes('record_episode_stats') && !l.includes('compression'))
      .map((l) => (l.includes('"name"') ? 'instance' : l.includes('reset') || l.includes('"step"') ? 'observation' : l.includes('sample') ? 'sample' : 'url'));
    const replies = [];
    for (let i = 0; i < expectedKinds.length; i++) replies.push(await c.nextJson());
    expect(replies.map((r) => Object.keys(r)[0])).toEqual(expectedKinds);
    // Nothing else arrives: the next reply is the one for the next request.
    expect((await c.ask(CPP.url)).url).toBeDefined();
    expect(c.unread).toBe(0);
    await c.end();
  });

  it('takes a request split across many writes and several requests in one write', async () => {
    const c = await RawClient.connect(server);
    const line = CPP.make('CartPole-v1') + '\r\n';
    for (const ch of line) {
      c.send(ch);
      await new Promise((r) => setImmediate(r));
    }
    expect((await c.nextJson()).instance).toMatch(/^[0-9a-f]{13}$/);
    c.send(`${CPP.reset}\r\n${CPP.step('0')}\r\n${CPP.step('1')}\r\n`);
    expect((await c.nextJson()).observation).toHaveLength(4);
    expect((await c.nextJson()).reward).toBe(1);
    expect((await c.nextJson()).reward).toBe(1);
    await c.end();
  });

  it("keeps a line cut between reads whole while other connections' reads land in the shared read buffer", async () => {
    // Plain TCP connections all read into one buffer (src/server/shared-reads.ts): the start of a
    // line must be kept out of it while another connection's bytes overwrite it.
    const [a, b] = await Promise.all([RawClient.connect(server), RawClient.connect(server)]);
    for (const [client, name] of [[a, 'CartPole-v1'], [b, 'FrozenLake-v1']] as const) {
      await client.ask(CPP.make(name));
      await client.ask(CPP.reset);
    }
    const step = `${CPP.step('1')}\r\n`;
    for (let i = 0; i < 20; i++) {
      const cut = 1 + (i % (step.length - 1));
      a.send(step.slice(0, cut));
      await new Promise((r) => setTimeout(r, 2));
      b.send(`${CPP.step('2')}\r\n${CPP.sample}\r\n`);
      expect((await b.nextJson()).observation).toEqual(expect.any(Number));
      expect((await b.nextJson()).sample).toEqual(expect.any(Number));
      a.send(step.slice(cut));
      const reply = await a.nextJson();
      expect(reply.error).toBeUndefined();
      expect(reply.observation).toHaveLength(4);
      if (reply.done) await a.ask(CPP.reset);
      expect((await b.ask(CPP.reset)).observation).toBe(0);
    }
    await Promise.all([a.end(), b.end()]);
  });
});

describe('request parsing', () => {
  it('parses a line once: the same line again gives the same frozen request, which no caller can change', () => {
    const line = '{"env": {"name": "FrozenLake-v1", "kwargs": {"map_name": "8x8", "is_slippery": false}}}';
    const first = parseRequest(line);
    expect(parseRequest(line)).toBe(first);
    expect(first).toEqual({ kind: 'make', name: 'FrozenLake-v1', kwargs: { map_name: '8x8', is_slippery: false } });
    expect(() => ((first as { kwargs: Record<string, unknown> }).kwargs.is_slippery = true)).toThrow(TypeError);
    // A long line is parsed each time, to the same request.
    const long = `{"step": {"action": [${Array(80).fill('0.25').join(', ')}]}}`;
    expect(parseRequest(long)).not.toBe(parseRequest(long));
    expect(parseRequest(long)).toEqual(parseRequest(long));
    // A line that fails fails every time.
    for (let i = 0; i < 2; i++) expect(() => parseRequest('{"step": {}}')).toThrow(/step.action/);
  });
});

describe('compression', () => {
  it('sends a zlib stream (78 DA at level 9) then an uncompressed CRLFCRLF, and level 0 turns it off', async () => {
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    const plain = (await (async () => {
      c.send(CPP.observationSpace + '\r\n');
      return c.nextRaw();
    })()).toString();
    for (const level of [1, 6, 9]) {
      c.send(CPP.compression(level) + '\r\n' + CPP.observationSpace + '\r\n');
      const raw = await c.nextRaw();
      expect(raw[0]).toBe(0x78);
      expect(inflateSync(raw).toString()).toBe(plain);
    }
    c.send(CPP.compression(9) + '\r\n' + CPP.observationSpace + '\r\n');
    expect((await c.nextRaw()).subarray(0, 2)).toEqual(Buffer.from([0x78, 0xda]));
    // Errors are framed like any reply: compressed too.
    c.send('{"bogus": 1}\r\n');
    expect(JSON.parse(inflateSync(await c.nextRaw()).toString()).error.code).toBe('UNKNOWN_COMMAND');
    c.send(CPP.compression(0) + '\r\n' + CPP.observationSpace + '\r\n');
    expect((await c.nextRaw()).toString()).toBe(plain);
    await c.end();
  });
});

describe('bad input gets an error reply and the connection goes on (docs/protocol.md §8, §10)', () => {
  it('answers every faulty request with a coded error while another connection keeps its env', async () => {
    const bystander = await RawClient.connect(server);
    await bystander.ask(CPP.make('CartPole-v1'));
    bystander.send(CPP.seed(3) + '\r\n');
    const before = await bystander.ask(CPP.reset);

    const c = await RawClient.connect(server);
    const cases: [string | Buffer, string][] = [
      [CPP.step('1'), 'NO_ENV'],
      [CPP.seed(5), 'NO_ENV'],
      [CPP.close, 'NO_ENV'],
      [CPP.recordStats, 'NO_ENV'],
      [CPP.url, 'NO_ENV'],
      ['{"env":{"name": "Foo-v9"}}', 'UNKNOWN_ENV'],
      ['{not json', 'BAD_JSON'],
      ['[1, 2]', 'BAD_JSON'],
      ['', 'EMPTY_LINE'],
      ['   ', 'EMPTY_LINE'],
      ['{"foo":1}', 'UNKNOWN_COMMAND'],
      ['{}', 'UNKNOWN_COMMAND'],
      ['{"env":{"action": "dance"}}', 'BAD_REQUEST'],
      ['{"env":{"name": "CartPole-v1", "colour": 1}}', 'BAD_REQUEST'],
      ['{"server":{"compression": "12"}}', 'BAD_REQUEST'],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'BAD_ENCODING'],
      ['{"env":{"name": "CärtPöle-v1"}}', 'UNKNOWN_ENV'],
    ];
    // Twice: a line seen before is answered as the first time (the worker keeps parsed lines).
    for (const [line, code] of [...cases, ...cases]) {
      c.send(Buffer.concat([Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from('\r\n')]));
      const reply = await c.nextJson();
      expect(reply.error.code, String(line)).toBe(code);
      expect(typeof reply.error.message).toBe('string');
    }
    await c.ask(CPP.make('CartPole-v1'));
    expect((await c.ask(CPP.step('1'))).error.code).toBe('RESET_NEEDED');
    await c.ask(CPP.reset);
    for (const [action, code] of [['2', 'INVALID_ACTION'], ['-1', 'INVALID_ACTION'], ['0.5', 'INVALID_ACTION'], ['"x"', 'INVALID_ACTION'], ['null', 'INVALID_ACTION']]) {
      expect((await c.ask(CPP.step(action))).error.code).toBe(code);
    }
    expect((await c.ask(CPP.seed('-3'))).error.code).toBe('BAD_SEED');
    expect((await c.ask('{"env":{"seed": "abc"}}')).error.code).toBe('BAD_SEED');
    // The env survived all of it, and string actions from the old README work.
    expect((await c.ask('{"step":{"action":"1"}}')).reward).toBe(1);
    expect((await c.ask('{"step":{"action":[0], "render": true}}')).reward).toBe(1);

    // The bystander's env and stream were untouched: it continues exactly as a session that saw
    // nothing else would.
    const reference = new Session({ urlBase: '', compression: 0, lastInstance: null, lost: false });
    for (const line of [CPP.make('CartPole-v1'), CPP.seed(3)]) reference.handle(line);
    expect(before).toEqual(JSON.parse(String(reference.handle(CPP.reset).reply?.json)));
    const step = await bystander.ask(CPP.step('1'));
    expect(step).toEqual(JSON.parse(String(reference.handle(CPP.step('1')).reply?.json)));
    await c.end();
    await bystander.end();
  });

  it('closes a connection whose line exceeds the limit, after a LINE_TOO_LONG reply, without disturbing others', async () => {
    const other = await RawClient.connect(server);
    await other.ask(CPP.make('CartPole-v1'));
    await other.ask(CPP.reset);
    const c = await RawClient.connect(server);
    await c.ask(CPP.make('CartPole-v1'));
    c.send('{"step":{"action": "' + 'x'.repeat(10_000));
    const reply = await c.nextJson();
    expect(reply.error.code).toBe('LINE_TOO_LONG');
    await c.closed;
    expect((await other.ask(CPP.step('0'))).reward).toBe(1);
    await other.end();
  });

  it('rebuilds the environments of a worker thread that dies: clients carry on as if nothing happened', async () => {
    const s = await startServer({ workers: 2 });
    const g = golden('CartPole-v1.json');
    const episode = g.controlled_episodes[0]; // 500 steps, truncated at the time limit
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(s)));
    for (const c of clients) {
      await c.ask(CPP.make('CartPole-v1'));
      c.send(CPP.recordStats + '\r\n' + CPP.seed(episode.reset_seed) + '\r\n');
      expect((await c.ask(CPP.reset)).observation).toEqual(episode.reset.obs);
      // 100 steps answered before the fault (more than one snapshot interval).
      for (const step of episode.steps.slice(0, 100)) await c.ask(CPP.step(String(step.action)));
    }
    // Send the rest of the episode pipelined, and kill, from outside, a worker thread while
    // those requests are in flight.
    for (const c of clients) c.send(episode.steps.slice(100).map((st: any) => CPP.step(String(st.action)) + '\r\n').join(''));
    await new Promise((r) => setTimeout(r, 2));
    await s.pool.piscina.threads[0].terminate();
    for (const c of clients) {
      let last: any;
      for (const [i, step] of episode.steps.slice(100).entries()) {
        last = await c.nextJson();
        expect(last.error, `step ${100 + i}`).toBeUndefined();
        expect(last.terminated).toBe(step.terminated);
        expect(last.truncated).toBe(step.truncated);
        for (let k = 0; k < 4; k++) expect(Math.abs(last.observation[k] - step.obs[k])).toBeLessThan(1e-3);
      }
      expect(last.info.episode.l).toBe(500);
      expect(last.info.episode.r).toBe(500);
      expect((await c.ask(CPP.url)).url).toContain('/recordings/');
      await c.end();
    }
    // Nothing leaked: the envs were counted once, on their new worker, and freed when their
    // connections closed (the server hears of a close a moment after the client).
    for (let i = 0; i < 200 && s.pool.envBudget.total > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.pool.envBudget.total).toBe(0);
    expect((await s.pool.sessionCounts()).reduce((a, b) => a + b, 0)).toBe(0);
    await s.close();
  });

  it('answers a snapshot request for a session already dropped without making a new one', async () => {
    // A front's results can still arrive after it closed, and one of them may ask for a snapshot.
    const s = await startServer({ workers: 1 });
    const delivered: unknown[] = [];
    let idle: () => void = () => {};
    const sink = {
      front: 'tcp' as const,
      sessionGeneration: -1,
      sessionInit: () => ({ conn: 999_999, init: { urlBase: '', compression: 0, lastInstance: null, lost: false }, frame: true }),
      deliver: (result: unknown) => (delivered.push(result), idle()),
      workerLost: () => {},
    };
    const settled = (n: number) => new Promise<void>((resolve) => (idle = () => delivered.length >= n && resolve()));
    let done = settled(2); // init, make
    s.pool.send(0, { conn: 999_999, line: CPP.make('CartPole-v1') }, sink);
    await done;
    expect(s.pool.envBudget.total).toBe(1);
    done = settled(4); // drop, snapshot
    s.pool.endSession(0, 999_999, sink);
    s.pool.send(0, { conn: 999_999, snapshot: true }, sink);
    await done;
    expect(delivered[3]).toBeNull();
    expect(s.pool.envBudget.total).toBe(0);
    expect((await s.pool.sessionCounts()).reduce((a, b) => a + b, 0)).toBe(0);
    await s.close();
  });

  it('rebuilds a session from its snapshot, and answers ENV_LOST when its env cannot be had again', () => {
    const init = { urlBase: 'http://h:1', compression: 0, lastInstance: null, lost: false };
    const original = new Session(init);
    original.handle(CPP.make('CartPole-v1'));
    original.handle(CPP.seed(42));
    original.handle(CPP.reset);
    original.handle(CPP.step('1'));
    const snapshot = original.snapshot(); // JSON text, as it crosses threads
    const copy = Session.restore('http://h:1', snapshot);
    expect(copy.handle(CPP.step('0')).reply?.json).toBe(original.handle(CPP.step('0')).reply?.json);
    expect(copy.handle(CPP.sample).reply?.json).toBe(original.handle(CPP.sample).reply?.json);
    // An env whose constructor drew randomness (an unseeded random map) is remade identical, and
    // its derived tables stay out of the snapshot.
    const lake = new Session(init);
    lake.handle('{"env":{"name": "FrozenLake-v1", "kwargs": {"desc": null, "map_name": null, "is_slippery": false}}}');
    lake.handle(CPP.reset);
    const lakeSnapshot = lake.snapshot();
    expect(lakeSnapshot.length).toBeLessThan(4000);
    const lakeCopy = Session.restore('http://h:1', lakeSnapshot);
    for (const action of [2, 2, 1, 1, 2, 1, 1, 2, 2, 1]) {
      expect(lakeCopy.handle(CPP.step(String(action))).reply?.json).toBe(lake.handle(CPP.step(String(action))).reply?.json);
    }
    const full = Session.restore('http://h:1', snapshot, { tryAcquire: () => false, release: () => {} });
    expect(JSON.parse(String(full.handle(CPP.step('0')).reply?.json).trim()).error.code).toBe('ENV_LOST');
    expect(JSON.parse(String(full.handle(CPP.url).reply?.json).trim()).url).toContain(original.instance);
  });
});

describe('shutdown', () => {
  it('answers the requests already read, then closes', async () => {
    const s = await startServer();
    const c = await RawClient.connect(s);
    await c.ask(CPP.make('CartPole-v1'));
    await c.ask(CPP.reset);
    c.send((CPP.step('1') + '\r\n').repeat(50));
    await new Promise((r) => setTimeout(r, 20));
    const closing = s.close();
    let answered = 0;
    try {
      for (;;) {
        await c.nextRaw(2000);
        answered++;
      }
    } catch {}
    await closing;
    expect(answered).toBe(50);
  });
});
