/**
 * The line between the main thread and one env worker: work items one way, results the other, each
 * in a ByteRing; a MessagePort carries what is too big for a ring (marked in the ring, so order
 * holds). Both threads find new records by looking, and sleep on the ring's counter when there is
 * nothing: the main thread with `Atomics.waitAsync` (its event loop runs on), the worker blocked
 * reading its Doorbell (it has nothing else to do; in `Atomics.wait` where there is no doorbell).
 *
 * Item record:   kind u8 · 3 pad · conn u32 · payload (a line's UTF-8, or a WorkItem as JSON)
 * Result record: flags u8 (a `deferred` result is its header alone) · compression u8 · instance length u8 · kind u8 · snapshot length u32 · out length u32
 *                · code u8 · command u8 · pad 2 · value start i32 · value end i32 · [episode: return f64 · seconds f64 · length u32 · pad 4]
 *                · instance · snapshot (JSON text, when there is one) · out (the reply, framed or not, sent as is)
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { errorCodeAt, errorCodeIndex, replyKindAt, replyKindIndex } from '../protocol/reply.js';
import { REQUEST_KINDS } from '../protocol/schema.js';
import { Doorbell } from './doorbell.js';
import { ByteRing } from './ring.js';
import { CHANNEL_STATS_BYTES } from './worker-figures.js';
import { DEFERRED, type WorkItem, type WorkResult } from './work.js';

/** What a worker is given to serve a channel (plain transferable data). */
export interface ChannelEnds {
  items: SharedArrayBuffer;
  results: SharedArrayBuffer;
  /** Int32 counters the worker keeps for the main thread: see STAT_*. */
  stats: SharedArrayBuffer;
  port: MessagePort;
  /** The read end of the worker's Doorbell; null: it sleeps in Atomics.wait. */
  doorbellFd: number | null;
}

/**
 * Microseconds the worker spent handling items, added up. Only ever grows (wrapping at 2^32): the
 * main thread widens it into a Number (counters.ts, WidenedCounter) and never resets it.
 */
export const STAT_BUSY_MICROS = 0;
/** Sessions the worker holds. */
export const STAT_SESSIONS = 1;
/** Set by the main thread: the worker returns from its serve task (the pool is closing). */
export const STAT_STOP = 2;
/** Set by the main thread while the server's cores have CPU to spare: the worker may spin (see SpareCpu). */
export const STAT_SPIN = 3;
/** Microseconds the worker spent spinning, added up; grows and wraps as STAT_BUSY_MICROS. */
export const STAT_SPUN_MICROS = 4;
/* Words 8 and up: step times and envs by id (worker-figures.ts). */

const ITEM_LINE = 1;
const ITEM_JSON = 2;
const ITEM_PORT = 3;
const ITEM_HEADER = 8;

const RESULT_NULL = 1;
const RESULT_OUT = 2;
const RESULT_NO_INSTANCE = 4;
const RESULT_PORT = 8;
const RESULT_EPISODE = 16;
const RESULT_DEFERRED = 32;
const RESULT_HEADER = 24;
const RESULT_EPISODE_BYTES = 24;
/** `kind` and `code` bytes that mean none. */
const NONE = 255;

/** Ring sizes: large enough that records rarely go by port, small enough to stay in cache. */
const RING_BYTES = 256 * 1024;
/**
 * The results ring is larger: a vector env's reply is one record (4,096 CartPoles: 142 KB in base64,
 * ~440 KB as JSON), and one over half a ring goes by MessagePort, a structured clone and a wake-up
 * of its own. 512 KiB keeps base64 replies of 4,096 CartPoles or Pendulums in the ring. (A 2 MiB ring
 * made test/fuzz.test.ts's hostile connections ~10x slower, for a reason not yet found.)
 */
const RESULT_RING_BYTES = 512 * 1024;

/** The main thread's end. */
export class MainChannel {
  readonly items = ByteRing.create(RING_BYTES);
  readonly results = ByteRing.create(RESULT_RING_BYTES);
  readonly stats = new Int32Array(new SharedArrayBuffer(CHANNEL_STATS_BYTES));
  readonly #port: MessagePort;
  /** The worker's end, to hand over once. */
  readonly ends: ChannelEnds;

  constructor(doorbell: Doorbell | null = null) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    if (doorbell) this.items.ringBell = () => doorbell.ring();
    this.ends = {
      items: this.items.buffer,
      results: this.results.buffer,
      stats: this.stats.buffer as SharedArrayBuffer,
      port: port2,
      doorbellFd: doorbell?.readFd ?? null,
    };
  }

  /** Writes an item for the worker (visible after `items.publish()`); false when the ring is full now. */
  send(item: WorkItem): boolean {
    const text = 'line' in item ? item.line : JSON.stringify(item);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const max = ITEM_HEADER + text.length * 3;
    const fits = max <= this.items.maxRecord;
    const record = this.items.reserve(fits ? max : ITEM_HEADER);
    if (!record) return false;
    record[0] = !fits ? ITEM_PORT : 'line' in item ? ITEM_LINE : ITEM_JSON;
    record.writeUInt32LE(item.conn, 4);
    if (fits) {
      this.items.commit(ITEM_HEADER + record.write(text, ITEM_HEADER, 'utf8'));
    } else {
      this.#port.postMessage(item);
      this.items.commit(ITEM_HEADER);
    }
    return true;
  }

  /** The next result the worker published, or undefined; call `results.release()` after a run of them. */
  receive(): WorkResult | undefined {
    const record = this.results.next();
    if (!record) return undefined;
    const flags = record[0];
    if (flags & RESULT_PORT) return receiveMessageOnPort(this.#port)!.message as WorkResult;
    if (flags & RESULT_NULL) return null;
    if (flags & RESULT_DEFERRED) return DEFERRED;
    const episodeEnd = RESULT_HEADER + (flags & RESULT_EPISODE ? RESULT_EPISODE_BYTES : 0);
    const instanceEnd = episodeEnd + record[2];
    const snapshotEnd = instanceEnd + record.readUInt32LE(4);
    const outEnd = snapshotEnd + record.readUInt32LE(8);
    let out: Buffer | null = null;
    if (flags & RESULT_OUT) {
      // Copied out of the ring: the socket may hold on to it after the ring has moved on.
      out = Buffer.allocUnsafe(outEnd - snapshotEnd);
      record.copy(out, 0, snapshotEnd, outEnd);
    }
    const result: NonNullable<WorkResult> = {
      kind: record[3] === NONE ? null : replyKindAt(record[3]),
      code: record[12] === NONE ? null : errorCodeAt(record[12]),
      command: record[13] === NONE ? null : REQUEST_KINDS[record[13]],
      out,
      valueStart: record.readInt32LE(16),
      valueEnd: record.readInt32LE(20),
      compression: record[1],
      instance: flags & RESULT_NO_INSTANCE ? null : record.toString('latin1', episodeEnd, instanceEnd),
      episode:
        flags & RESULT_EPISODE
          ? { r: record.readDoubleLE(RESULT_HEADER), t: record.readDoubleLE(RESULT_HEADER + 8), l: record.readUInt32LE(RESULT_HEADER + 16) }
          : null,
      snapshot: snapshotEnd > instanceEnd ? record.toString('utf8', instanceEnd, snapshotEnd) : undefined,
    };
    return result;
  }

  close(): void {
    this.#port.close();
  }
}

/** The worker's end. */
export class WorkerChannel {
  readonly items: ByteRing;
  readonly results: ByteRing;
  readonly stats: Int32Array;
  readonly #port: MessagePort;

  constructor(ends: ChannelEnds) {
    this.items = new ByteRing(ends.items);
    this.results = new ByteRing(ends.results);
    this.stats = new Int32Array(ends.stats);
    this.#port = ends.port;
    const { doorbellFd } = ends;
    if (doorbellFd !== null) {
      const into = Buffer.alloc(1);
      this.items.awaitBell = () => Doorbell.wait(doorbellFd, into);
    }
  }

  /** The next item the main thread published, or null. */
  receive(): WorkItem | null {
    const record = this.items.next();
    if (!record) return null;
    switch (record[0]) {
      case ITEM_LINE:
        return { conn: record.readUInt32LE(4), line: record.toString('utf8', ITEM_HEADER) };
      case ITEM_JSON:
        return JSON.parse(record.toString('utf8', ITEM_HEADER)) as WorkItem;
      default:
        return receiveMessageOnPort(this.#port)!.message as WorkItem;
    }
  }

  /** Writes a result (visible after `results.publish()`), waiting for room if the main thread is behind. */
  send(result: WorkResult): void {
    if (result === null) return this.#write(RESULT_HEADER, (record) => ((record[0] = RESULT_NULL), RESULT_HEADER));
    if (result.deferred) return this.#write(RESULT_HEADER, (record) => ((record[0] = RESULT_DEFERRED), RESULT_HEADER));
    const { out, compression, instance, snapshot, episode } = result;
    let outMax = out === null ? 0 : typeof out === 'string' ? out.length * 3 : out.length;
    // A large reply (a vector env's) is measured rather than bounded, so it stays in the ring.
    if (typeof out === 'string' && outMax > this.results.maxRecord / 2) outMax = Buffer.byteLength(out, 'utf8');
    const episodeBytes = episode ? RESULT_EPISODE_BYTES : 0;
    const max = RESULT_HEADER + episodeBytes + (instance?.length ?? 0) + (snapshot?.length ?? 0) * 3 + outMax;
    if ((instance?.length ?? 0) > 255 || max > this.results.maxRecord || result.frame) {
      // A recorded frame (hundreds of KB) goes by port, its buffer transferred: no copy on the main thread.
      this.#port.postMessage(result, result.frame ? [result.frame.data.buffer as ArrayBuffer] : []);
      return this.#write(RESULT_HEADER, (record) => ((record[0] = RESULT_PORT), RESULT_HEADER));
    }
    this.#write(max, (record) => {
      record[0] = (out === null ? 0 : RESULT_OUT) | (instance === null ? RESULT_NO_INSTANCE : 0) | (episode ? RESULT_EPISODE : 0);
      record[1] = compression;
      record[3] = result.kind === null ? NONE : replyKindIndex(result.kind);
      record[12] = result.code === null ? NONE : errorCodeIndex(result.code);
      record[13] = result.command === null ? NONE : REQUEST_KINDS.indexOf(result.command);
      record.writeInt32LE(result.valueStart, 16);
      record.writeInt32LE(result.valueEnd, 20);
      let at = RESULT_HEADER;
      if (episode) {
        record.writeDoubleLE(episode.r, at);
        record.writeDoubleLE(episode.t, at + 8);
        record.writeUInt32LE(episode.l, at + 16);
        at += RESULT_EPISODE_BYTES;
      }
      const instanceStart = at;
      if (instance !== null) at += record.write(instance, at, 'latin1');
      record[2] = at - instanceStart;
      const snapshotLength = snapshot ? record.write(snapshot, at, 'utf8') : 0;
      record.writeUInt32LE(snapshotLength, 4);
      at += snapshotLength;
      const outLength = out === null ? 0 : typeof out === 'string' ? record.write(out, at, 'utf8') : (record.set(out, at), out.length);
      record.writeUInt32LE(outLength, 8);
      return at + outLength;
    });
  }

  #write(max: number, fill: (record: Buffer) => number): void {
    let record = this.results.reserve(max);
    while (!record) {
      // The main thread is behind: let it see what is there, and look again in a millisecond.
      this.results.publish();
      Atomics.wait(this.results.counters, 1, Atomics.load(this.results.counters, 1), 1);
      record = this.results.reserve(max);
    }
    this.results.commit(fill(record));
  }
}
