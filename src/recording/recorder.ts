/**
 * Episodes into videos. The recorder listens to the frame bus (every rendered frame of every env),
 * keeps one recording per env whose episode is being recorded, streams each frame to that
 * recording's encoder (encoder-pool.ts) as it comes, and closes the recording when its episode ends
 * (the bus's endEpisode: terminated, truncated, reset, close, connection gone). The videos live in
 * `--recordings-dir`, at most `--max-recordings-bytes` of them, the oldest evicted first.
 *
 * Memory stays bounded whatever clients do: a recording holds no frames, only the bytes in flight
 * to its encoder, and those are capped (per recording and in all). A client that renders faster than
 * the encoder encodes is told to wait (the bus hands the producer a promise: its connection stops
 * being read until the encoder catches up; no other client waits); frames past the hard caps (a
 * client with many requests already in flight) are dropped and counted. At most
 * MAX_ACTIVE_RECORDINGS episodes are recorded at once; past it an episode is not recorded (logged).
 */
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FrameBus, FrameEvent } from '../live/frame-bus.js';
import { EncoderPool, type EncoderStream } from './encoder-pool.js';

export interface RecorderOptions {
  /** Where the MP4 files go (made at start). */
  dir: string;
  /** Bytes the files may hold in all; past it the oldest are deleted. */
  maxBytes: number;
  /** Encoder threads. */
  encoders: number;
  log?: (message: string) => void;
}

/** Episodes recorded (or being encoded) at once: each is an encoder of ~1.2 MB (600×400, measured) on an encoder thread. */
export const MAX_ACTIVE_RECORDINGS = 64;
/** Recordings indexed at most (the files' total is bounded by maxBytes; this bounds the index). */
const MAX_RECORDINGS = 10_000;
/** Frame bytes in flight to one encoder before its producer is asked to wait (~6 CartPole frames). */
const SOFT_BYTES_PER_RECORDING = 4 * 1024 * 1024;
/** Past these, frames are dropped: a client with many requests in flight cannot outrun the bound. */
const HARD_BYTES_PER_RECORDING = 8 * 1024 * 1024;
const HARD_BYTES_IN_ALL = 32 * 1024 * 1024;
/** The longest a producer is held back at once when its encoder is behind. */
const PRODUCER_WAIT_MS = 250;
/** How long a request for a video still being recorded or encoded waits for it. */
export const RECORDING_WAIT_MS = 30_000;

export type RecordingState = 'recording' | 'encoding' | 'ready' | 'failed';

/** One episode's video: being recorded, being encoded (finalised and written), ready, or failed. */
export class Recording {
  state: RecordingState = 'recording';
  /** Frames sent to the encoder (then: in the file), frames dropped past the caps. */
  frames = 0;
  dropped = 0;
  /** The file's size, once ready. */
  bytes = 0;
  readonly created = Date.now();
  /** Frame bytes sent to the encoder and not yet encoded. */
  inFlight = 0;
  readonly #settled: Promise<void>;
  #settle!: () => void;
  #caughtUp: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(
    readonly id: string,
    readonly instance: string,
    readonly envId: string,
    readonly episode: number,
    readonly file: string,
    readonly stream: EncoderStream | null,
  ) {
    this.#settled = new Promise((resolve) => (this.#settle = resolve));
  }

  /** Resolves with the final state (ready or failed), or with the current one after `timeoutMs`. */
  async settled(timeoutMs = RECORDING_WAIT_MS): Promise<RecordingState> {
    if (this.state === 'ready' || this.state === 'failed') return this.state;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()))]);
    clearTimeout(timer);
    return this.state;
  }

  /** @internal */
  markSettled(state: 'ready' | 'failed'): void {
    this.state = state;
    this.#settle();
    this.caughtUp();
  }

  /**
   * @internal A promise that settles once the encoder has caught up, the recording ended, or
   * PRODUCER_WAIT_MS passed: an encoder shared by many recordings may take long, and a client is
   * slowed, not stopped (past the hard caps its frames are dropped instead).
   */
  behind(): Promise<void> {
    this.#caughtUp ??= (() => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      setTimeout(() => this.caughtUp(), PRODUCER_WAIT_MS).unref();
      return { promise, resolve };
    })();
    return this.#caughtUp.promise;
  }

  /** @internal */
  caughtUp(): void {
    this.#caughtUp?.resolve();
    this.#caughtUp = null;
  }
}

/** A row of GET /v1/recordings. */
export interface RecordingRow {
  id: string;
  env_id: string;
  instance: string;
  /** Below the server (either port): `/recordings/<id>.mp4`. */
  url: string;
  bytes: number;
  /** Seconds since the epoch. */
  created: number;
  frames: number;
  state: RecordingState;
}

export class Recorder {
  readonly options: RecorderOptions;
  readonly #pool: EncoderPool;
  /** Every recording known, oldest first (eviction order). */
  readonly #byId = new Map<string, Recording>();
  /** The recording under way of each instance. */
  readonly #current = new Map<string, Recording>();
  /** Each instance's latest recording (what its `url` links to). */
  readonly #latest = new Map<string, Recording>();
  #bytes = 0;
  #inFlight = 0;
  /** Recordings being recorded or encoded: each holds an encoder. */
  #unsettled = 0;
  #closed = false;
  /** Figures for stats and logs. */
  readonly counts = { recorded: 0, failed: 0, evicted: 0, notRecorded: 0, framesDropped: 0 };
  #loggedBusy = 0;

  constructor(options: RecorderOptions) {
    this.options = options;
    this.#pool = new EncoderPool(options.encoders, Math.ceil(MAX_ACTIVE_RECORDINGS / options.encoders));
    mkdirSync(options.dir, { recursive: true });
    this.#adoptExistingFiles();
    this.#evict();
  }

  /** Listens to every frame and every episode end on the bus; returns the function that stops it. */
  attach(bus: FrameBus): () => void {
    // The bus's owner: called after every other listener, so the frame's bytes are the recorder's to take.
    const offFrames = bus.own((event) => this.frame(event, true));
    const offEnds = bus.subscribeEnds((instance) => this.end(instance));
    return () => {
      offFrames();
      offEnds();
    };
  }

  /**
   * Adds a frame to its env's recording (starting one for a new episode). `mayTake`: no one else
   * keeps the frame's bytes, so they move to the encoder without a copy. Returns a promise when the
   * producer should wait for the encoder.
   */
  frame(event: FrameEvent, mayTake = false): Promise<void> | undefined {
    let recording = this.#current.get(event.instance);
    if (recording && recording.episode !== event.episode) {
      this.#finish(recording);
      recording = undefined;
    }
    recording ??= this.#begin(event);
    // No room for another recording: the frame is lost, and its producer is held back as if the
    // encoder were behind (rendering that nobody records still costs the env workers everyone shares).
    if (!recording) return this.#closed ? undefined : new Promise((resolve) => setTimeout(resolve, PRODUCER_WAIT_MS).unref());
    if (!recording.stream) return undefined;
    const { data } = event.frame;
    if (recording.inFlight + data.byteLength > HARD_BYTES_PER_RECORDING || this.#inFlight + data.byteLength > HARD_BYTES_IN_ALL) {
      recording.dropped += 1;
      this.counts.framesDropped += 1;
      return recording.behind();
    }
    const rgb = mayTake && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
    // Counted before the transfer, which leaves `rgb` empty.
    const bytes = rgb.byteLength;
    recording.stream.port.postMessage({ rgb, width: event.frame.width, height: event.frame.height }, [rgb.buffer as ArrayBuffer]);
    recording.inFlight += bytes;
    this.#inFlight += bytes;
    recording.frames += 1;
    return recording.inFlight > SOFT_BYTES_PER_RECORDING ? recording.behind() : undefined;
  }

  /** The instance's episode ended: its recording, if any, is encoded and written. */
  end(instance: string): void {
    const recording = this.#current.get(instance);
    if (recording) this.#finish(recording);
  }

  /**
   * A recording by the name in its link: `<id>` (one episode), or an instance id (its latest
   * recording: what `url` links to).
   */
  find(name: string): Recording | undefined {
    return this.#byId.get(name) ?? this.#latest.get(name);
  }

  /** The latest recording of an instance. */
  latest(instance: string): Recording | undefined {
    return this.#latest.get(instance);
  }

  /** The recordings, newest first, at most `limit`. */
  list(limit = 100): RecordingRow[] {
    const rows: RecordingRow[] = [];
    for (const r of [...this.#byId.values()].reverse()) {
      if (rows.length >= limit) break;
      if (r.state === 'failed') continue;
      rows.push({
        id: r.id,
        env_id: r.envId,
        instance: r.instance,
        url: `/recordings/${r.id}.mp4`,
        bytes: r.bytes,
        created: r.created / 1000,
        frames: r.frames,
        state: r.state,
      });
    }
    return rows;
  }

  /** Bytes the ready files hold. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Ends every recording under way, waits for their files (bounded), stops the encoders. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const recording of [...this.#current.values()]) this.#finish(recording);
    await Promise.all([...this.#byId.values()].map((r) => r.settled()));
    await this.#pool.close();
  }

  #begin(event: FrameEvent): Recording | undefined {
    if (this.#closed) return undefined;
    if (this.#unsettled >= MAX_ACTIVE_RECORDINGS) {
      this.counts.notRecorded += 1;
      // Said at most once a minute: a client rendering a thousand envs would fill the log otherwise.
      if (Date.now() - this.#loggedBusy > 60_000) {
        this.#loggedBusy = Date.now();
        this.options.log?.(`${MAX_ACTIVE_RECORDINGS} episodes are being recorded: episode ${event.episode} of ${event.instance} is not (${this.counts.notRecorded} so far)`);
      }
      return undefined;
    }
    const id = `${event.instance}-${event.episode}`;
    // An id is unique per env and episode; a repeat (a session rebuilt after its worker died) replaces it.
    this.#forget(this.#byId.get(id), true);
    const file = path.join(this.options.dir, `${id}.mp4`);
    const { width, height } = event.frame;
    const stream = this.#pool.start(width, height, event.fps ?? 30, file);
    const recording = new Recording(id, event.instance, event.envId, event.episode, file, stream);
    stream.port.on('message', (encoded: number) => {
      recording.inFlight -= encoded;
      this.#inFlight -= encoded;
      if (recording.inFlight <= SOFT_BYTES_PER_RECORDING / 2) recording.caughtUp();
    });
    stream.port.unref();
    this.#unsettled += 1;
    this.#byId.set(id, recording);
    this.#current.set(event.instance, recording);
    this.#latest.set(event.instance, recording);
    return recording;
  }

  #finish(recording: Recording): void {
    if (this.#current.get(recording.instance) === recording) this.#current.delete(recording.instance);
    if (recording.state !== 'recording' || !recording.stream) return;
    recording.state = 'encoding';
    const { port, done } = recording.stream;
    port.postMessage({ end: true });
    done.then(
      ({ frames, bytes }) => {
        this.#release(recording);
        if (frames === 0) return this.#fail(recording, null);
        recording.frames = frames;
        recording.bytes = bytes;
        this.#bytes += bytes;
        this.counts.recorded += 1;
        recording.markSettled('ready');
        this.#evict();
      },
      (err: Error) => {
        this.#release(recording);
        this.#fail(recording, err);
      },
    );
  }

  /** Frames still counted in flight when a recording ends (its encoder failed or went) no longer are. */
  #release(recording: Recording): void {
    this.#unsettled -= 1;
    this.#inFlight -= recording.inFlight;
    recording.inFlight = 0;
    recording.stream!.port.close();
  }

  #fail(recording: Recording, err: Error | null): void {
    if (err) {
      this.counts.failed += 1;
      this.options.log?.(`the video of ${recording.instance} (${recording.envId}, episode ${recording.episode}) could not be encoded: ${err.message}`);
    }
    recording.markSettled('failed');
    this.#forget(recording, true);
  }

  /** Deletes the oldest ready videos while the files hold more than --max-recordings-bytes (or the index is full). */
  #evict(): void {
    for (const recording of this.#byId.values()) {
      if (this.#bytes <= this.options.maxBytes && this.#byId.size <= MAX_RECORDINGS) break;
      if (recording.state !== 'ready') continue;
      this.counts.evicted += 1;
      this.#forget(recording, true);
    }
  }

  /** Takes a recording out of the index (and its bytes out of the total), deleting its file. */
  #forget(recording: Recording | undefined, deleteFile: boolean): void {
    if (!recording || this.#byId.get(recording.id) !== recording) return;
    this.#byId.delete(recording.id);
    if (this.#latest.get(recording.instance) === recording) this.#latest.delete(recording.instance);
    if (recording.state === 'ready') this.#bytes -= recording.bytes;
    if (deleteFile) void unlink(recording.file).catch(() => {});
  }

  /**
   * Videos left in the directory by an earlier run count against the limit (oldest first), so that
   * restarts do not let the directory grow; unfinished `.part` files are deleted.
   */
  #adoptExistingFiles(): void {
    const found: { name: string; mtime: number; size: number }[] = [];
    for (const name of readdirSync(this.options.dir)) {
      const file = path.join(this.options.dir, name);
      if (name.endsWith('.mp4.part')) rmSync(file, { force: true });
      if (!name.endsWith('.mp4')) continue;
      const stat = statSync(file, { throwIfNoEntry: false });
      if (stat?.isFile()) found.push({ name, mtime: stat.mtimeMs, size: stat.size });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const { name, size } of found) {
      const id = name.slice(0, -'.mp4'.length);
      const instance = id.replace(/-\d+$/, '');
      const recording = new Recording(id, instance, '', 0, path.join(this.options.dir, name), null);
      recording.bytes = size;
      recording.markSettled('ready');
      this.#byId.set(id, recording);
      this.#latest.set(instance, recording);
      this.#bytes += size;
    }
  }
}
