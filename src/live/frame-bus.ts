/**
 * Where rendered frames meet the main thread's consumers: the recorder that turns an episode into a
 * video and the live view that pushes frames to browsers.
 *
 * A frame is drawn on an env worker (a `render: 1` step, a `-render` id, a monitor's schedule); the
 * code that brings it to the main thread publishes it here once, and every consumer subscribes, so
 * there is one way a frame leaves the worker whatever wants it. `watched()` lets the producer skip
 * work no one will look at (a frame for the live view only, with no browser open).
 *
 * Two additions for the recorder: the producer also says when an episode ends (`endEpisode`: the
 * step that terminated or truncated it, a reset, a close, the connection gone), and a listener that
 * cannot keep up (the video encoder behind) returns a promise from its call, which `publish` hands
 * back to the producer: a front stops reading that client until it settles (no other client waits).
 */
import type { RgbFrame } from '../envs/env.js';

/** One rendered frame of one environment, in the order its steps were taken. */
export interface FrameEvent {
  /** The instance id the client knows the env by (`<node>-<hex>`). */
  readonly instance: string;
  readonly envId: string;
  /** 0-based episode index of this env, and the step within that episode (0 = the frame after reset). */
  readonly episode: number;
  readonly step: number;
  /** The env's render_fps (the video's frame rate); 30 when absent. */
  readonly fps?: number;
  /**
   * H×W×3 RGB bytes, a buffer of the event's own (never a worker's reused canvas). A listener that
   * keeps them past its call copies them: the bus's owner (the recorder) is called last and may take
   * the buffer itself (transfer it to an encoder thread, which empties it here).
   */
  readonly frame: RgbFrame;
}

/** A listener may return a promise: it is behind, and the producer should slow down until it settles. */
export type FrameListener = (event: FrameEvent) => void | Promise<void>;
/** Told when an instance's episode ended (see endEpisode). */
export type EpisodeEndListener = (instance: string) => void;

export class FrameBus {
  /** Listeners of one instance's frames, by instance id. */
  private readonly byInstance = new Map<string, Set<FrameListener>>();
  /** Listeners of every instance's frames (the recorder). */
  private readonly everything = new Set<FrameListener>();
  private readonly ends = new Set<EpisodeEndListener>();
  /** The one listener that may take a frame's buffer; called after every other (see `own`). */
  private owner: FrameListener | null = null;

  /**
   * Hands a frame to its listeners; a listener that throws is the listener's bug, not the producer's.
   * Returns a promise when a listener is behind (settles when it has caught up), else null.
   */
  publish(event: FrameEvent): Promise<void> | null {
    let behind: Promise<void> | null = null;
    for (const listener of this.everything) behind = safely(listener, event) ?? behind;
    const own = this.byInstance.get(event.instance);
    if (own) for (const listener of own) behind = safely(listener, event) ?? behind;
    if (this.owner) behind = safely(this.owner, event) ?? behind;
    return behind;
  }

  /** The instance's current episode ended (or the instance went): its recording, if any, is complete. */
  endEpisode(instance: string): void {
    for (const listener of this.ends) {
      try {
        listener(instance);
      } catch {
        // as in publish
      }
    }
  }

  /** Listens to the end of every instance's episodes; returns the unsubscribe function. */
  subscribeEnds(listener: EpisodeEndListener): () => void {
    this.ends.add(listener);
    return () => void this.ends.delete(listener);
  }

  /** Listens to one instance's frames, or to all with `null`; returns the unsubscribe function. */
  subscribe(instance: string | null, listener: FrameListener): () => void {
    if (instance === null) {
      this.everything.add(listener);
      return () => void this.everything.delete(listener);
    }
    let set = this.byInstance.get(instance);
    if (!set) this.byInstance.set(instance, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byInstance.get(instance) === set) this.byInstance.delete(instance);
    };
  }

  /**
   * Listens to every frame as its owner: called after all other listeners, so it may take the
   * frame's buffer (the recorder moves it to its encoder thread without a copy: a 720 KB copy per
   * rendered step is what a frame costs the main thread otherwise). One owner per bus.
   */
  own(listener: FrameListener): () => void {
    if (this.owner) throw new Error('this frame bus already has an owner');
    this.owner = listener;
    return () => {
      if (this.owner === listener) this.owner = null;
    };
  }

  /** True when someone listens to this instance in particular (a browser watching it). */
  watched(instance: string): boolean {
    return this.byInstance.has(instance);
  }
}

function safely(listener: FrameListener, event: FrameEvent): Promise<void> | null {
  try {
    const behind = listener(event);
    return behind instanceof Promise ? behind.catch(() => {}) : null;
  } catch {
    // A consumer's failure must not stop the frame reaching the others, nor the env that drew it.
    return null;
  }
}
