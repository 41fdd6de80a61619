/**
 * Where rendered frames meet the main thread's consumers: the recorder that turns an episode into a
 * video and the live view that pushes frames to browsers.
 *
 * A frame is drawn on an env worker (a `render: 1` step, a `-render` id, a monitor's schedule); the
 * code that brings it to the main thread publishes it here once, and every consumer subscribes, so
 * there is one way a frame leaves the worker whatever wants it. `watched()` lets the producer skip
 * work no one will look at (a frame for the live view only, with no browser open).
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
  /** H×W×3 RGB bytes; owned by the event (a copy, never a worker's reused canvas). */
  readonly frame: RgbFrame;
}

export type FrameListener = (event: FrameEvent) => void;

export class FrameBus {
  /** Listeners of one instance's frames, by instance id. */
  private readonly byInstance = new Map<string, Set<FrameListener>>();
  /** Listeners of every instance's frames (the recorder). */
  private readonly everything = new Set<FrameListener>();

  /** Hands a frame to its listeners; a listener that throws is the listener's bug, not the producer's. */
  publish(event: FrameEvent): void {
    for (const listener of this.everything) safely(listener, event);
    const own = this.byInstance.get(event.instance);
    if (own) for (const listener of own) safely(listener, event);
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

  /** True when someone listens to this instance in particular (a browser watching it). */
  watched(instance: string): boolean {
    return this.byInstance.has(instance);
  }
}

function safely(listener: FrameListener, event: FrameEvent): void {
  try {
    listener(event);
  } catch {
    // A consumer's failure must not stop the frame reaching the others, nor the env that drew it.
  }
}
