/**
 * The shared-memory line between the main thread and a worker: the byte ring (records in order,
 * wrap-around, a full ring refusing and recovering) and the channel codec on both ends (every kind of
 * item and result, including those too big for a ring, which go by MessagePort). Both ends of one
 * SharedArrayBuffer are opened here in one thread; the server tests drive them across real threads.
 */
import { describe, expect, it } from 'vitest';
import { MainChannel, WorkerChannel } from '../src/pool/channel.js';
import { ByteRing } from '../src/pool/ring.js';
import type { WorkItem, WorkReply, WorkResult } from '../src/pool/work.js';
import { CPP } from '../src/protocol/messages.js';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { startServer } from './helpers.js';

/** A deterministic pseudo-random stream (xorshift32). */
function prng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe('ByteRing', () => {
  it('delivers records of every size in order across many wrap-arounds, refusing only when full', () => {
    const writer = ByteRing.create(1024);
    const reader = new ByteRing(writer.buffer);
    const random = prng(7);
    const inFlight: Buffer[] = [];
    let written = 0;
    let read = 0;
    let refusals = 0;
    for (let round = 0; round < 5000; round++) {
      // Write a few records (sizes up to the largest a ring takes), then read some.
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const length = random() < 0.1 ? writer.maxRecord : Math.floor(random() * 200);
        const record = writer.reserve(length);
        if (!record) {
          refusals++;
          break;
        }
        const bytes = Buffer.alloc(length, written & 0xff);
        if (length >= 4) bytes.writeUInt32LE(written, 0);
        bytes.copy(record);
        writer.commit(length);
        inFlight.push(bytes);
        written++;
      }
      writer.publish();
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const record = reader.next();
        if (!record) break;
        expect(Buffer.compare(record, inFlight.shift()!), `record ${read}`).toBe(0);
        read++;
      }
      reader.release();
    }
    for (let record = reader.next(); record; record = reader.next()) expect(Buffer.compare(record, inFlight.shift()!)).toBe(0);
    expect(inFlight).toEqual([]);
    expect(written).toBeGreaterThan(5000);
    expect(refusals, 'the ring filled up at times').toBeGreaterThan(0);
  });

  it('takes a record that was refused once the reader releases, and rejects one larger than it can ever hold', () => {
    const writer = ByteRing.create(256);
    const reader = new ByteRing(writer.buffer);
    expect(() => writer.reserve(writer.maxRecord + 1)).toThrow(RangeError);
    for (let i = 0; i < 2; i++) {
      writer.reserve(writer.maxRecord);
      writer.commit(writer.maxRecord);
    }
    writer.publish();
    expect(writer.reserve(writer.maxRecord)).toBeNull();
    expect(reader.next()?.length).toBe(writer.maxRecord);
    expect(writer.reserve(writer.maxRecord), 'not before release').toBeNull();
    reader.release();
    expect(writer.reserve(writer.maxRecord)?.length).toBe(writer.maxRecord);
  });
});

describe('channel codec', () => {
  const main = new MainChannel();
  const worker = new WorkerChannel(main.ends);
  const huge = 'é'.repeat(300_000); // far beyond a ring record: goes by port

  it('carries every kind of work item to the worker unchanged, in order', () => {
    const items: WorkItem[] = [
      { conn: 1, line: CPP.step('1') },
      { conn: 2, line: '{"env": {"name": "Taxi-v3"}} ∆ 日本' },
      { conn: 3, line: '' },
      { conn: 4, fail: 'BAD_ENCODING', message: 'not UTF-8' },
      { conn: 5, init: { urlBase: 'http://127.0.0.1:4040', compression: 3, lastInstance: 'abc', lost: false }, frame: true, restore: { snapshot: null, replay: ['{"env": {"action": "reset"}}'] } },
      { conn: 6, line: huge },
      { conn: 7, snapshot: true },
      { conn: 4294967295, drop: true },
    ];
    for (const item of items) expect(main.send(item)).toBe(true);
    main.items.publish();
    for (const item of items) expect(worker.receive()).toEqual(item);
    expect(worker.receive()).toBeNull();
  });

  it('carries every kind of result back, replies as bytes to write as they are', () => {
    const reply = (kind: WorkReply['kind'], command: WorkReply['command'] = null) => ({ kind, code: null, command, valueStart: -1, valueEnd: -1, episode: null });
    const snapshot = JSON.stringify({ compression: 0, instance: 'i1', lastInstance: 'i1', lost: false, runner: null, note: 'é ✓' });
    const results: WorkResult[] = [
      null,
      { ...reply('instance', 'make'), out: '{"instance": "8bd9f0c1"}\r\n\r\n', compression: 0, instance: '8bd9f0c1', snapshot },
      { ...reply('observation', 'reset'), out: new Uint8Array([0x78, 0xda, 0, 13, 10, 13, 10]), compression: 9, instance: '8bd9f0c1' },
      { ...reply(null, 'compression'), out: null, compression: 2, instance: null },
      { ...reply('sample'), out: huge, compression: 0, instance: 'x' },
      // Typed fields: an error's code, a value's place in unframed JSON, an ended episode.
      { ...reply('error', 'step'), code: 'RESET_NEEDED', out: '{"error": {"code": "RESET_NEEDED", "message": "m"}}', valueStart: 46, valueEnd: 49, compression: 0, instance: 'y' },
      { ...reply('step', 'step'), out: '{"observation": 1}', compression: 0, instance: 'z', episode: { r: 12.5, l: 7, t: 0.25 } },
    ];
    for (const result of results) worker.send(result);
    worker.results.publish();
    for (const result of results) {
      const got = main.receive();
      if (result === null) {
        expect(got).toBeNull();
        continue;
      }
      const out = result.out === null ? null : Buffer.from(typeof result.out === 'string' ? Buffer.from(result.out) : result.out);
      expect(got && { ...got, out: got.out === null ? null : Buffer.from(got.out) }).toEqual({ ...result, out, snapshot: result.snapshot });
    }
    expect(main.receive()).toBeUndefined();
  });
});

describe('spinning off', () => {
  it('serves pipelined and closed-loop steps the same with --spin-us 0', async () => {
    const s = await startServer({ workers: 2, spinMicros: 0 });
    try {
      const c = await ReplySocket.connect(s.address().port);
      c.write(`${CPP.make('CartPole-v1')}\r\n${CPP.seed(3)}\r\n${CPP.reset}\r\n`);
      for (let i = 0; i < 2; i++) expect(typeof (await c.next())).not.toBe('string');
      c.write(`${CPP.step('0')}\r\n`.repeat(5));
      for (let i = 0; i < 5; i++) expect(typeof (await c.next())).not.toBe('string');
      for (let i = 0; i < 5; i++) {
        c.write(`${CPP.step('1')}\r\n`);
        expect(typeof (await c.next())).not.toBe('string');
      }
      await c.end();
    } finally {
      await s.close();
    }
  });
});
