/**
 * What a hostile or careless TCP client still did to gym-tcp (issue 14, items 2, 5 and 6), each
 * against a real server on real sockets:
 *
 * - `--max-pipeline` holds within one read: a 64 KiB read of 65,536 one-byte lines was taken whole,
 *   65,536 replies queued for a client that never read them (+60 MiB of RSS each);
 * - an unfinished line has a deadline (`--request-timeout`): a client trickling a byte a second was
 *   never closed, `--idle-timeout` or not;
 * - with a token, every first line but the auth line gets one error reply and the connection closes,
 *   before any worker sees it: a first line that was not UTF-8 was answered BAD_ENCODING by a worker
 *   and the connection stayed open (32,768 of them got 32,768 replies, then the client could still
 *   authenticate).
 */
import { describe, expect, it } from 'vitest';
import { BufferBudget } from '../src/net/buffer-budget.js';
import { LineReceiver } from '../src/protocol/receiver.js';
import { CPP } from '../src/protocol/messages.js';
import type { ResultSink } from '../src/pool/env-pool.js';
import type { WorkItem } from '../src/pool/work.js';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { sleep } from '../scripts/lib/wait.js';
import { RawClient, startServer } from './helpers.js';

describe('--max-pipeline holds within one read (item 2)', () => {
  it('the receiver stops taking lines from a read when told, keeps the rest charged to the budget, and resumes in order', () => {
    const budget = new BufferBudget(1 << 20);
    const taken: string[] = [];
    let room = 100;
    const r = new LineReceiver(1024, budget, {
      line: (text) => (taken.push(text), --room > 0),
      reject: () => true,
    });
    // 32,768 two-byte lines in one 64 KiB read, which the server's shared read buffer then overwrites.
    const lines = Array.from({ length: 32_768 }, (_, i) => String(i % 10));
    const read = Buffer.from(lines.join('\n') + '\n');
    expect(r.push(read)).toBe(false);
    read.fill(0x41);
    expect(taken).toEqual(lines.slice(0, 100));
    expect(r.holding).toBe(true);
    // The rest is held, once, and charged.
    expect(r.bufferedBytes).toBeGreaterThanOrEqual(read.length - 200);
    expect(budget.used).toBe(r.bufferedBytes);
    // While it holds, nothing else is taken, and it resumes only as far as there is room.
    while (r.holding) {
      room = 1000;
      r.resume();
    }
    expect(taken).toEqual(lines);
    expect(budget.used).toBe(0);
    // An unfinished line after the held ones is kept as such, and finished by the next read.
    room = 1;
    r.push(Buffer.from('a\nb\nc'));
    expect(r.holding).toBe(true);
    room = 10;
    expect(r.resume()).toBe(true);
    r.push(Buffer.from('d\n'));
    expect(taken.slice(-3)).toEqual(['a', 'b', 'cd']);
    expect(budget.used).toBe(0);
  });

  /*
   * Clients each write 65,536 tiny lines (an empty line or `{}`, answered EMPTY_LINE and
   * UNKNOWN_COMMAND) in one write and read nothing. Before the fix the server took every line of a
   * read at once: 65,536 requests unanswered per client, whatever --max-pipeline said (and with 20
   * such clients, +105 MiB of RSS and a bystander's p50 at 79 ms, measured; the issue saw +60 MiB per
   * client). Now a connection never has more than --max-pipeline requests unanswered; what else it
   * takes is bounded by the replies the kernel's socket buffers absorb before it pushes back.
   */
  it('clients writing 65,536 lines at once and never reading: never more than --max-pipeline unanswered, others play, every reply comes in order once they read', async () => {
    const maxPipeline = 64;
    const s = await startServer({ workers: 1, maxPipeline });
    // How many requests each connection has unanswered, at most: the pool's items and deliveries, counted as they pass.
    const unanswered = new Map<ResultSink, number>();
    let most = 0;
    const send = s.pool.send.bind(s.pool);
    s.pool.send = (slot, item, sink) => {
      if ('line' in item || 'fail' in item) {
        if (!unanswered.has(sink)) {
          const deliver = sink.deliver.bind(sink);
          sink.deliver = (result, delivered) => {
            if ('line' in delivered || 'fail' in delivered) unanswered.set(sink, unanswered.get(sink)! - 1);
            deliver(result, delivered);
          };
        }
        const now = (unanswered.get(sink) ?? 0) + 1;
        unanswered.set(sink, now);
        most = Math.max(most, now);
      }
      send(slot, item, sink);
    };
    const flooders: RawClient[] = [];
    try {
      const pattern = Array.from({ length: 65_536 }, (_, i) => ((i * 2654435761) >>> 13) % 3 === 0);
      const payload = pattern.map((object) => (object ? '{}\n' : '\n')).join('');
      for (let i = 0; i < 2; i++) {
        const c = await RawClient.connect(s);
        c.socket.pause(); // reads nothing: replies fill the kernel's buffers, then the server stops reading
        c.send(payload);
        flooders.push(c);
      }
      await sleep(1000);
      // Another client meanwhile plays a whole seeded episode.
      const bystander = await RawClient.connect(s);
      await bystander.ask(CPP.make('CartPole-v1'));
      bystander.send(CPP.seed(3) + '\r\n');
      expect((await bystander.ask(CPP.reset)).observation).toHaveLength(4);
      let steps = 0;
      for (let done = false; !done; steps++) done = (await bystander.ask(CPP.step(String(steps % 2)))).done;
      expect(steps).toBeGreaterThan(5);
      await bystander.end();
      expect(most).toBeLessThanOrEqual(maxPipeline);

      // Now they read: every reply, in the order of the lines.
      const expected = pattern.map((object) => (object ? 'UNKNOWN_COMMAND' : 'EMPTY_LINE'));
      for (const c of flooders) c.socket.resume();
      for (const c of flooders) {
        const codes: string[] = [];
        for (let i = 0; i < pattern.length; i++) {
          const reply = await c.next(10_000);
          if (typeof reply === 'string') break;
          codes.push(/"code": "([A-Z_]+)"/.exec(reply.toString('latin1', 0, 40))?.[1] ?? reply.toString());
        }
        expect(codes.length).toBe(expected.length);
        expect(codes.findIndex((code, i) => code !== expected[i])).toBe(-1);
        expect(c.unread).toBe(0);
      }
      expect(most).toBeLessThanOrEqual(maxPipeline);
      expect(s.bufferBudget.used).toBe(0);
    } finally {
      for (const c of flooders) c.destroy();
      await s.close();
    }
  }, 60_000);
});

describe('lines kept past --max-pipeline are still requests', () => {
  it('a client that writes 3,000 lines at once and half-closes gets every reply, then the server closes', async () => {
    const s = await startServer({ maxPipeline: 4 });
    try {
      const c = await RawClient.connect(s);
      await c.ask(CPP.make('CartPole-v1'));
      c.send((CPP.sample + '\r\n').repeat(3000));
      c.socket.end();
      let answered = 0;
      for (let reply = await c.next(); typeof reply !== 'string'; reply = await c.next()) {
        expect(reply.toString()).toMatch(/^\{"sample": [01]\}$/);
        answered++;
      }
      expect(answered).toBe(3000);
      expect(c.closedByPeer).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('an unfinished line has a deadline: --request-timeout (item 5)', () => {
  it('a connection trickling a line a byte at a time, --idle-timeout on, is answered REQUEST_TIMEOUT after what it sent before, and closed', async () => {
    const s = await startServer({ idleTimeoutMs: 400, requestTimeoutMs: 600 });
    try {
      const c = await RawClient.connect(s);
      expect((await c.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
      c.send(CPP.reset + '\r\n');
      const started = Date.now();
      const line = CPP.step('1') + ' '.repeat(200);
      let sent = 0;
      // One byte every 50 ms: traffic enough that the idle timeout never fires.
      while (!c.isClosed && sent < line.length) {
        c.send(line[sent++]);
        await sleep(50);
      }
      expect(c.isClosed).toBe(true);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeLessThan(3000);
      expect((await c.nextJson()).observation).toHaveLength(4);
      const timedOut = await c.nextJson();
      expect(timedOut.error.code).toBe('REQUEST_TIMEOUT');
      expect(timedOut.error.message).toContain('--request-timeout');
      expect(c.unread).toBe(0);
      // Its env is freed; the server serves others as before.
      await expect.poll(() => s.pool.envBudget.total, { timeout: 2000 }).toBe(0);
      expect(s.bufferBudget.used).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('lines finished in time are not touched, however many; the deadline is per line; 0 turns it off', async () => {
    const s = await startServer({ requestTimeoutMs: 400 });
    const off = await startServer({ requestTimeoutMs: 0 });
    try {
      const c = await RawClient.connect(s);
      await c.ask(CPP.make('CartPole-v1'));
      // Each line takes ~250 ms to arrive, five in a row: 1.25 s in all, each within its 400 ms.
      for (let i = 0; i < 5; i++) {
        const line = CPP.sample + '\r\n';
        for (let k = 0; k < 5; k++) {
          c.send(line.slice((k * line.length) / 5, ((k + 1) * line.length) / 5));
          await sleep(k < 4 ? 60 : 0);
        }
        expect((await c.nextJson()).sample).toBeDefined();
      }
      // An idle connection with no unfinished line is not closed by it.
      await sleep(600);
      expect(c.isClosed).toBe(false);
      expect((await c.ask(CPP.sample)).sample).toBeDefined();
      await c.end();

      const patient = await RawClient.connect(off);
      patient.send('{"env":{"name": ');
      await sleep(700);
      expect(patient.isClosed).toBe(false);
      expect((await patient.ask('"CartPole-v1"}}')).instance).toBeDefined();
      await patient.end();
    } finally {
      await s.close();
      await off.close();
    }
  });
});

describe('authentication first, really (item 6)', () => {
  const token = 'the-token';

  /** Records the items the pool is handed, by connection: no mock, every item still goes through. */
  function itemsSeen(s: GymTcpServer): WorkItem[] {
    const seen: WorkItem[] = [];
    const send = s.pool.send.bind(s.pool);
    s.pool.send = (slot, item, sink) => {
      if (item.conn !== 0) seen.push(item);
      send(slot, item, sink);
    };
    return seen;
  }

  it('32,768 lines that are not UTF-8 get one reply, AUTH_REQUIRED, and the connection closes; the auth line after them is never read; no worker sees any', async () => {
    const s = await startServer({ authToken: token });
    const seen = itemsSeen(s);
    try {
      const c = await RawClient.connect(s);
      c.send(Buffer.concat([Buffer.from('\xff\xfe\n'.repeat(32_768), 'latin1'), Buffer.from(`{"auth": "${token}"}\n${CPP.make('CartPole-v1')}\n`)]));
      const reply = await c.nextJson();
      expect(reply.error.code).toBe('AUTH_REQUIRED');
      expect(reply.error.message).toContain('UTF-8');
      await c.closed;
      expect(c.unread).toBe(0);
      expect(seen).toEqual([]);
      expect(await s.pool.sessionCounts()).toEqual([0, 0]);
    } finally {
      await s.close();
    }
  });

  it('every first line but the auth line (empty, too long, not JSON, no auth, wrong token, unfinished too long) gets one error reply and a close, before any worker', async () => {
    const s = await startServer({ authToken: token, maxLineBytes: 256, requestTimeoutMs: 300 });
    const seen = itemsSeen(s);
    const firstLines: [string | Buffer, string][] = [
      ['\r\n', 'AUTH_REQUIRED'],
      ['\n', 'AUTH_REQUIRED'],
      [Buffer.from('{"auth": "\xc3\x28"}\n', 'latin1'), 'AUTH_REQUIRED'],
      [`{"auth": "${'x'.repeat(300)}"}\n`, 'LINE_TOO_LONG'],
      ['{"auth": "the-tok\n', 'AUTH_REQUIRED'],
      [CPP.make('CartPole-v1') + '\r\n', 'AUTH_REQUIRED'],
      ['{"auth": "the-tokeN"}\r\n', 'AUTH_FAILED'],
      ['{"auth": 1}\r\n', 'AUTH_REQUIRED'],
      ['{"auth": "the-token"', 'REQUEST_TIMEOUT'],
    ];
    try {
      for (const [first, code] of firstLines) {
        const c = await RawClient.connect(s);
        c.send(first);
        c.send(`{"auth": "${token}"}\r\n${CPP.make('CartPole-v1')}\r\n`.repeat(typeof first === 'string' && !first.includes('\n') ? 0 : 3));
        const reply = await c.nextJson();
        expect([JSON.stringify(first).slice(0, 40), reply.error?.code]).toEqual([JSON.stringify(first).slice(0, 40), code]);
        expect(JSON.stringify(reply)).not.toContain(token);
        await c.closed;
        expect(c.unread).toBe(0);
      }
      expect(seen).toEqual([]);
      expect(await s.pool.sessionCounts()).toEqual([0, 0]);
      expect(s.bufferBudget.used).toBe(0);

      // The auth line itself still works, and after it a line that is not UTF-8 is an ordinary BAD_ENCODING.
      const ok = await RawClient.connect(s);
      expect(await ok.ask(`{"auth": "${token}"}`)).toEqual({ auth: 'ok' });
      ok.send(Buffer.from('\xff\n', 'latin1'));
      expect((await ok.nextJson()).error.code).toBe('BAD_ENCODING');
      expect((await ok.ask(CPP.make('CartPole-v1'))).instance).toBeDefined();
      await ok.end();
    } finally {
      await s.close();
    }
  });
});
