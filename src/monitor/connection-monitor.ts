import { EpisodeMonitor, type MonitorSettings } from './episode-monitor.js';
import type { MonitorRequest } from '../protocol/session.js';
import type { Log } from '../ops/log.js';
import type { Recording } from '../recording/recorder.js';

/**
 * An older client's Gym monitor on a TCP connection (`{"monitor":{"action": "start", …}}`, mlpack's
 * client fork): episode statistics written as the REST monitor writes them, under the same
 * `--monitor-root`. Nothing here ever answers the client (those clients read no reply to a monitor
 * line, docs/protocol.md §4): a refused directory or a malformed request is logged, and recorded
 * nothing. Events come in request order from the connection's results; starting a monitor touches
 * the disk, so each event waits for the ones before it on one promise chain, which never rejects.
 */
export class ConnectionMonitor {
  #current: Promise<EpisodeMonitor | null> = Promise.resolve(null);

  constructor(
    /** The monitor root and its storage limits (the server's options). */
    readonly settings: MonitorSettings,
    /** Where refusals go (the server's log); `who` names the connection in them. */
    readonly log: Log,
    readonly who: string,
  ) {}

  request(request: MonitorRequest): void {
    switch (request.action) {
      case 'invalid':
        this.log(`${this.who}: ignored a monitor line (monitor lines are never answered): ${request.problem}`, { event: 'MONITOR_LINE_IGNORED', level: 'info' });
        return;
      case 'close':
        this.#then(async (monitor) => {
          await monitor?.close();
          return null;
        });
        return;
      case 'start':
        this.#then(async (previous) => {
          await previous?.close();
          if (request.envId === null) {
            this.log(`${this.who}: monitor start before any environment was made: nothing is recorded`, { event: 'MONITOR_WITHOUT_ENV', level: 'info' });
            return null;
          }
          try {
            return await EpisodeMonitor.start({
              settings: this.settings,
              directory: request.directory!,
              force: request.force,
              resume: request.resume,
              videoEvery: request.videoEvery,
              envId: request.envId,
            });
          } catch (err) {
            this.log(`${this.who}: monitor directory ${JSON.stringify(request.directory)} refused, nothing is recorded: ${(err as Error).message}`, {
              event: 'MONITOR_REFUSED',
              directory: request.directory,
              code: (err as NodeJS.ErrnoException).code ?? null,
            });
            return null;
          }
        });
    }
  }

  /** A reset was answered; `recording`: the env's latest video (that of the episode the reset ended, if recorded). */
  reset(recording?: Recording): void {
    this.#then(async (monitor) => (monitor?.onReset(), monitor?.noteRecording(recording, true), monitor));
  }

  /** A step ended an episode. */
  episodeEnd(episodeReturn: number, length: number, recording?: Recording): void {
    this.#then(async (monitor) => (monitor?.onEpisodeEnd(episodeReturn, length), monitor?.noteRecording(recording, false), monitor));
  }

  /** The env went (closed or replaced) or the connection did: the statistics (and videos) are written. */
  close(recording?: Recording): Promise<void> {
    this.#then(async (monitor) => {
      monitor?.noteRecording(recording, false);
      await monitor?.close();
      return null;
    });
    return this.#current.then(() => {});
  }

  #then(step: (monitor: EpisodeMonitor | null) => Promise<EpisodeMonitor | null>): void {
    this.#current = this.#current.then(step).catch((err: Error) => {
      this.log(`${this.who}: the monitor failed: ${err.message}`, { event: 'MONITOR_FAILED', level: 'error', code: (err as NodeJS.ErrnoException).code ?? null });
      return null;
    });
  }
}
