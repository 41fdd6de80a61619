/**
 * The video encoders: a Piscina pool of its own, off the env workers and off the main thread, so a
 * video being encoded costs no stepping client anything but a share of the CPU. One task is one
 * recording; its frames stream to it over a MessagePort while the episode is played (see
 * workers/encoder-worker.ts). Threads start with the first recording and leave when idle.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';

const WORKER_FILE = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/workers/encoder-worker.js' : '../../workers/encoder-worker.js',
  import.meta.url,
).href;

/** One recording's task: frames of `width`×`height` at `fps`, the MP4 written to `path`. */
export interface EncodeTask {
  port: MessagePort;
  width: number;
  height: number;
  fps: number;
  path: string;
}

/** What the encoder reads from the task's port: a frame (its buffer transferred), or the end. */
export type EncoderMessage = { rgb: Uint8Array; width: number; height: number } | { end: true };

export interface EncodeResult {
  frames: number;
  bytes: number;
}

/** A recording's end of its encoder: frames go in, acknowledgements (bytes encoded) come back. */
export interface EncoderStream {
  port: MessagePort;
  /** Settles when the file is written (or the encoder failed). */
  done: Promise<EncodeResult>;
}

export class EncoderPool {
  #piscina: Piscina | null = null;

  constructor(
    readonly threads: number,
    /** Recordings one thread encodes at once (its tasks are mostly waiting for frames). */
    readonly perThread: number,
  ) {}

  /** Starts a recording's task; frames posted to the returned port before the thread is up wait in the port. */
  start(width: number, height: number, fps: number, path: string): EncoderStream {
    this.#piscina ??= new Piscina({
      filename: WORKER_FILE,
      minThreads: 0,
      maxThreads: this.threads,
      concurrentTasksPerWorker: this.perThread,
      idleTimeout: 30_000,
      // Tasks wait in the queue only while a thread starts; the recorder bounds how many there are.
      maxQueue: Infinity,
      atomics: 'disabled',
    });
    const { port1, port2 } = new MessageChannel();
    const task: EncodeTask = { port: port2, width, height, fps, path };
    const done = this.#piscina.run(task, { transferList: [port2] }) as Promise<EncodeResult>;
    // Handled by whoever awaits it; never an unhandled rejection (which would end the process).
    done.catch(() => {});
    return { port: port1, done };
  }

  async close(): Promise<void> {
    await this.#piscina?.destroy();
    this.#piscina = null;
  }
}
