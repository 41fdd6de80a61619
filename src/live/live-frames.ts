/**
 * Rendered frames as browsers take them: PNGs, per environment, at a bounded rate. Frames arrive on
 * the FrameBus as raw RGB (from a `render: 1` step, at most 15 a second per env today: see
 * FRAME_INTERVAL_MS in src/protocol/session.ts); encoding each one for a browser would cost more
 * than the step (a CartPole PNG takes ~1.8 ms of CPU, the frame's drawing 84 µs: README's bench). So:
 *
 * - an env is encoded at most WATCHED_FPS times a second while a browser watches it (server-sent
 *   events), and UNWATCHED_FPS times otherwise (gym-server's `rendered/` and `render.html`, which
 *   refreshed every 500 ms); frames in between are skipped, except the latest, which is held
 *   (one raw frame per env, MAX_HELD over all envs) and encoded when its turn comes, so the picture
 *   a browser ends on is the env's last;
 * - the deflate runs on libuv's thread pool (encodePngAsync), at most MAX_ENCODING at once over all
 *   envs; the main thread only copies the rows;
 * - each env keeps its last KEPT_PER_ENV PNGs, and all envs together at most MAX_KEPT_BYTES, the
 *   oldest dropped first.
 *
 * A browser that reads slowly is not this file's business: its stream keeps only the latest frame
 * it has not sent (src/http/routes/live.ts).
 */
import { encodePngAsync } from '../render/png.js';
import type { FrameEvent } from './frame-bus.js';
import type { LiveEnvs } from './live-envs.js';

/** Frames per second pushed to a watching browser: smooth enough to follow CartPole (it renders at 50). */
export const WATCHED_FPS = 15;
/** Frames per second kept for an env no one watches (gym-server's render.html refreshed at 2 Hz). */
export const UNWATCHED_FPS = 2;
/** PNG encodings in flight at once, over all envs (libuv's pool has 4 threads; files and DNS use it too). */
const MAX_ENCODING = 2;
/** Raw frames held for their turn, over all envs (720 KB each for CartPole: ~23 MB). */
const MAX_HELD = 32;
export const KEPT_PER_ENV = 32;
const MAX_KEPT_BYTES = 32 * 1024 * 1024;

/** One encoded frame of an env: its number among the env's rendered frames, episode and step. */
export interface EncodedFrame {
  readonly instance: string;
  /** 0 for the env's first frame published on the bus, counting every one (encoded or skipped). */
  readonly n: number;
  readonly episode: number;
  readonly step: number;
  readonly width: number;
  readonly height: number;
  readonly png: Buffer;
  /** Date.now() when it was rendered (published). */
  readonly at: number;
}

type FrameListener = (frame: EncodedFrame) => void;

interface EnvFrames {
  instance: string;
  /** Frames published so far (the next frame's `n`). */
  published: number;
  kept: EncodedFrame[];
  held: { event: FrameEvent; n: number; at: number } | null;
  /** performance.now() when the last encoding started. */
  lastStart: number;
  encoding: boolean;
  timer: NodeJS.Timeout | null;
  watchers: Set<FrameListener>;
  gone: boolean;
}

const keepers = new WeakMap<LiveEnvs, LiveFrames>();

export class LiveFrames {
  /** The one LiveFrames of a directory (so both fronts' pages share its encodings), made on first use. */
  static of(live: LiveEnvs): LiveFrames {
    let frames = keepers.get(live);
    if (!frames) keepers.set(live, (frames = new LiveFrames(live)));
    return frames;
  }

  readonly #envs = new Map<string, EnvFrames>();
  readonly #live: LiveEnvs;
  #encoding = 0;
  #held = 0;
  #keptBytes = 0;
  /** Every kept frame, oldest first, for eviction across envs. */
  readonly #keptOrder: { env: EnvFrames; frame: EncodedFrame }[] = [];
  /** Envs waiting for an encoding slot. */
  readonly #waiting: EnvFrames[] = [];
  /** Frames encoded and skipped since start (stats; never reset). */
  encoded = 0;
  skipped = 0;
  readonly #unsubscribe: (() => void)[];

  private constructor(live: LiveEnvs) {
    this.#live = live;
    this.#unsubscribe = [live.frames.subscribe(null, (event) => this.#published(event)), live.onGone((env) => this.#forget(env.instance))];
  }

  /** The env's latest encoded frame, or null. */
  latest(instance: string): EncodedFrame | null {
    const kept = this.#envs.get(instance)?.kept;
    return kept && kept.length > 0 ? kept[kept.length - 1] : null;
  }

  /** The env's kept frames, oldest first. */
  kept(instance: string): readonly EncodedFrame[] {
    return this.#envs.get(instance)?.kept ?? [];
  }

  /**
   * A browser watches `instance`: `listener` gets each frame encoded from now on (at WATCHED_FPS).
   * Returns the function that stops watching.
   */
  watch(instance: string, listener: FrameListener): () => void {
    const env = this.#envOf(instance);
    env.watchers.add(listener);
    // A frame held for the slower unwatched rate goes at the watched rate from now on.
    if (env.timer) {
      clearTimeout(env.timer);
      env.timer = null;
      this.#schedule(env);
    }
    // Marks the instance watched on the bus, so a producer may skip work for unwatched ones (FrameBus.watched).
    const unmark = this.#live.frames.subscribe(instance, () => {});
    return () => {
      env.watchers.delete(listener);
      unmark();
    };
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const env of this.#envs.values()) this.#forget(env.instance);
  }

  #envOf(instance: string): EnvFrames {
    let env = this.#envs.get(instance);
    if (!env) {
      env = { instance, published: 0, kept: [], held: null, lastStart: -Infinity, encoding: false, timer: null, watchers: new Set(), gone: false };
      this.#envs.set(instance, env);
    }
    return env;
  }

  #published(event: FrameEvent): void {
    const env = this.#envOf(event.instance);
    const n = env.published++;
    if (env.held) this.skipped += 1;
    else if (this.#held >= MAX_HELD) {
      this.skipped += 1;
      return;
    } else this.#held += 1;
    // Held until its turn; a newer frame replaces it (the one skipped). A copy: the bus's owner (the
    // recorder) takes the event's buffer once every listener has seen it (FrameBus.own). A replaced
    // frame's buffer takes the newer one's bytes: an agent rendering every step replaces most held
    // frames, and a fresh 720 KB buffer per step cost ~2.5 ms here (page faults) against ~13 µs to copy.
    const { width, height, data } = event.frame;
    const reusable = env.held?.event.frame;
    const frame = reusable && reusable.width === width && reusable.height === height ? reusable : { width, height, data: new Uint8Array(data.length) };
    frame.data.set(data);
    env.held = { event: { ...event, frame }, n, at: Date.now() };
    this.#schedule(env);
  }

  /** Encodes the env's held frame now if its interval has passed and a slot is free; otherwise arranges to. */
  #schedule(env: EnvFrames): void {
    if (!env.held || env.encoding || env.timer || env.gone) return;
    const interval = 1000 / (env.watchers.size > 0 ? WATCHED_FPS : UNWATCHED_FPS);
    const wait = env.lastStart + interval - performance.now();
    if (wait > 0) {
      env.timer = setTimeout(() => {
        env.timer = null;
        this.#schedule(env);
      }, wait);
      env.timer.unref();
      return;
    }
    if (this.#encoding >= MAX_ENCODING) {
      if (!this.#waiting.includes(env)) this.#waiting.push(env);
      return;
    }
    const { event, n, at } = env.held;
    env.held = null;
    this.#held -= 1;
    env.encoding = true;
    env.lastStart = performance.now();
    this.#encoding += 1;
    const { width, height, data } = event.frame;
    encodePngAsync({ width, height, channels: 3, data }).then(
      (png) => this.#encodedOne(env, { instance: env.instance, n, episode: event.episode, step: event.step, width, height, png, at }),
      () => this.#encodedOne(env, null),
    );
  }

  #encodedOne(env: EnvFrames, frame: EncodedFrame | null): void {
    env.encoding = false;
    this.#encoding -= 1;
    if (frame && !env.gone) {
      this.encoded += 1;
      this.#keep(env, frame);
      for (const watcher of env.watchers) {
        try {
          watcher(frame);
        } catch {
          // One browser's stream failing must not stop the others'.
        }
      }
    }
    // A slot is free: the env that waited longest first, then this one's next frame.
    const next = this.#waiting.shift();
    if (next) this.#schedule(next);
    this.#schedule(env);
  }

  #keep(env: EnvFrames, frame: EncodedFrame): void {
    env.kept.push(frame);
    this.#keptOrder.push({ env, frame });
    this.#keptBytes += frame.png.length;
    if (env.kept.length > KEPT_PER_ENV) this.#drop(env.kept.shift()!);
    while (this.#keptBytes > MAX_KEPT_BYTES && this.#keptOrder.length > 1) {
      const oldest = this.#keptOrder[0];
      if (oldest.env.kept[0] === oldest.frame) oldest.env.kept.shift();
      this.#drop(oldest.frame);
    }
  }

  /** Forgets a frame's bytes in the overall count (and its place in the eviction order). */
  #drop(frame: EncodedFrame): void {
    const at = this.#keptOrder.findIndex((k) => k.frame === frame);
    if (at >= 0) this.#keptOrder.splice(at, 1);
    this.#keptBytes -= frame.png.length;
  }

  /** The env went: its frames go too (a watcher's stream ends on the directory's own notice). */
  #forget(instance: string): void {
    const env = this.#envs.get(instance);
    if (!env) return;
    env.gone = true;
    this.#envs.delete(instance);
    if (env.timer) clearTimeout(env.timer);
    if (env.held) this.#held -= 1;
    env.held = null;
    for (const frame of env.kept) this.#drop(frame);
    env.kept = [];
    const waiting = this.#waiting.indexOf(env);
    if (waiting >= 0) this.#waiting.splice(waiting, 1);
  }
}
