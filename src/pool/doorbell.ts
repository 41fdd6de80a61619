import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BELL = Buffer.from([1]);

/**
 * How the main thread wakes a sleeping env worker: a pipe the worker blocks reading, one byte per
 * wake-up. `Atomics.notify` would do, but V8 signals the sleeping thread while it holds a lock that
 * thread takes as it wakes: on a shared core the woken thread runs at once, finds the lock held and
 * sleeps again, so a hand-over costs four context switches instead of two. A pipe's writer holds
 * nothing the reader needs.
 *
 * Node cannot make an anonymous pipe, so this makes named ones (`mkfifo`) in a private temporary
 * directory, opens both ends and removes the names at once: nothing is left on disk. The ends are
 * file descriptors of the process, so a worker thread reads its end by number.
 *
 * A thread blocked in a read cannot be stopped by `Worker.terminate()` (nor by Node at exit, which
 * stops and joins worker threads) until the read returns: the pool rings the bells of sleeping
 * workers when the process exits and every 250 ms (see EnvPool).
 */
export class Doorbell {
  private constructor(
    /** The worker's end: blocking reads. */
    readonly readFd: number,
    /** The main thread's end: non-blocking writes, so ringing never waits. */
    readonly writeFd: number,
  ) {}

  /**
   * `count` doorbells, or null where they cannot be made (not Linux, no `mkfifo`, no writable
   * temporary directory): the pool then wakes workers with Atomics.notify.
   */
  static create(count: number): Doorbell[] | null {
    // Opening a FIFO for reading and writing at once, so that opening never blocks, is Linux's.
    if (process.platform !== 'linux') return null;
    let dir: string | undefined;
    const opened: number[] = [];
    try {
      dir = mkdtempSync(join(tmpdir(), 'gym-tcp-'));
      const paths = Array.from({ length: count }, (_, i) => join(dir!, String(i)));
      execFileSync('mkfifo', ['-m', '600', ...paths], { stdio: 'ignore' });
      return paths.map((path) => {
        const readFd = openSync(path, constants.O_RDWR);
        opened.push(readFd);
        const writeFd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
        opened.push(writeFd);
        return new Doorbell(readFd, writeFd);
      });
    } catch {
      for (const fd of opened) closeSync(fd);
      return null;
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Wakes the worker blocked in `wait` (or makes its next `wait` return at once). */
  ring(): void {
    try {
      writeSync(this.writeFd, BELL);
    } catch (err) {
      // A full pipe already holds wake-ups the worker has yet to read.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }

  /** Blocks the calling thread until the bell with this read end rings. */
  static wait(readFd: number, into: Buffer): void {
    for (;;) {
      try {
        readSync(readFd, into, 0, 1, null);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINTR') throw err;
      }
    }
  }

  close(): void {
    closeSync(this.readFd);
    closeSync(this.writeFd);
  }
}
