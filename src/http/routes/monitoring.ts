/**
 * gym-http-api's monitor routes: start and close the Gym Monitor statistics files of an env (the files
 * themselves: ../monitor.ts).
 */
import type { EnvTable } from '../env-table.js';
import { HttpError, badRequest } from '../errors.js';
import { EpisodeMonitor, MonitorError, type MonitorSettings } from '../../monitor/episode-monitor.js';
import { flagParam, optionalParam, preview, requiredParam } from '../params.js';
import type { RestServerOptions } from '../rest-server.js';
import { NO_CONTENT, type RouteSpec } from '../router.js';
import { request, requestLine } from '../../protocol/messages.js';
import { CAPPED_CUBIC } from '../../protocol/episode-recording.js';

/** `settings`: the monitor root directories are confined under, and its storage limits (read at each start). */
export function monitorRoutes(envs: EnvTable, settings: Pick<RestServerOptions, keyof MonitorSettings>) {
  return {
    start: {
      pattern: '/v1/envs/<instance_id>/monitor/start/',
      method: 'POST',
      doc:
        'Start monitoring: episode statistics are written to files in directory (below the server\'s monitor root) ' +
        'when the monitor closes. Parameters: directory, force (default false: clear the directory\'s "openaigym." ' +
        'files), resume (default false: keep the data already there), video_callable (false: no videos, n: every n-th episode, ' +
        "unset: Gym's capped cubic schedule, episodes 0, 1, 8, 27, …, 1000, 2000, …; the videos are written into the directory).",
      handler: async ({ instance_id }, body) => {
        const p = body.object();
        const directory = requiredParam(p, 'directory');
        const force = flagParam(optionalParam(p, 'force', false), 'force');
        const resume = flagParam(optionalParam(p, 'resume', false), 'resume');
        const videoEvery = videoCallable(optionalParam(p, 'video_callable', undefined));
        const env = envs.lookup(instance_id);
        if (typeof directory !== 'string') throw badRequest(`'directory' must be a string, got ${preview(JSON.stringify(directory))}`);
        // A second start closes the first monitor (its files are written), as closing it would.
        const previous = env.monitor;
        env.monitor = null;
        if (previous) {
          await env.settled();
          await previous.close().catch(() => {});
        }
        let monitor: EpisodeMonitor;
        try {
          monitor = await EpisodeMonitor.start({ settings, directory, force, resume, videoEvery, envId: env.envId });
        } catch (err) {
          // 400 the client's name, 507 the storage limits, 500 a root the operator must fix.
          if (err instanceof MonitorError) throw new HttpError(err.status, err.message);
          throw new HttpError(500, `could not prepare the monitor directory: ${(err as Error).message}`);
        }
        if (env.closed) await monitor.close();
        else {
          env.monitor = monitor;
          // The session renders the episodes the schedule picks (answered with a notice nobody reads).
          await env.request(requestLine(request.monitorStart(directory, videoEvery === CAPPED_CUBIC ? undefined : videoEvery)));
        }
        return NO_CONTENT;
      },
    },
    close: {
      pattern: '/v1/envs/<instance_id>/monitor/close/',
      method: 'POST',
      doc: 'Flush all monitor data to disk (the stats and manifest files), and stop monitoring.',
      handler: async ({ instance_id }) => {
        const env = envs.lookup(instance_id, { allowLost: true });
        const monitor = env.monitor;
        env.monitor = null;
        if (monitor) {
          // Gym's monitor closed its video recorder with it: the episode's recording ends here.
          if (!env.closed) {
            await env.request(requestLine(request.monitorClose()));
            env.frames?.endEpisode(env.id);
          }
          await env.settled();
          monitor.noteRecording(env.latestRecording(), false);
          await monitor.close().catch((err) => {
            if (err instanceof MonitorError) throw new HttpError(err.status, `the monitor files were not written: ${err.message}`);
            throw new HttpError(500, `could not write the monitor files: ${(err as Error).message}`);
          });
        }
        return NO_CONTENT;
      },
    },
  } satisfies Record<string, RouteSpec>;
}

/**
 * gym-http-api: `video_callable == False` disables videos, an integer n records every n-th episode
 * (`count % n == 0`; True counts as 1), and unset (None) is Gym's capped cubic schedule.
 */
function videoCallable(value: unknown): number {
  if (value === undefined || value === null) return CAPPED_CUBIC;
  if (value === false || value === 0) return 0;
  if (value === true) return 1;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw badRequest(`'video_callable' must be false or a positive integer n (record every n-th episode), got ${preview(JSON.stringify(value))}`);
}
