/**
 * What a session records for videos (docs/protocol.md §9.8): which episodes are recorded whole (a
 * `-render` id, a monitor's `video_callable` schedule) and the frame a reset or step adds to the
 * episode's recording. The frames leave in the session's replies (SessionReply.frame); the recorder
 * on the main thread (src/recording/) makes them a video.
 */
import type { RgbFrame } from '../envs/env.js';
import type { EnvRunner } from '../envs/runner.js';

/**
 * A frame for the episode's recording (docs/protocol.md §9.8): drawn after a `render: 1` step, or
 * after every reset and step of an episode recorded whole (a `-render` id, a monitor's schedule). Its
 * bytes are the renderer's reused canvas: whoever keeps them copies them first (env-worker.ts does).
 */
export interface RecordedFrame extends RgbFrame {
  envId: string;
  /** The env's render_fps (30 where it gives none), the video's frame rate. */
  fps: number;
  /** 0-based episode of this env (resets since it was made), and the step in it (0: after the reset). */
  episode: number;
  step: number;
}

/** What a session records, kept in its snapshot. */
export interface RecordingState {
  /** Made with a `-render` id: every episode is recorded. */
  all: boolean;
  /** A monitor's video schedule (see videoScheduled); null: no monitor. */
  videoEvery: number | null;
  /** Resets since the monitor started, and since the env was made. */
  monitorEpisodes: number;
  episodes: number;
  step: number;
  /** The current episode is recorded whole. */
  whole: boolean;
}

/** Gym's `capped_cubic_video_schedule`: episodes 0, 1, 8, 27, …, 729, then every 1000th. */
export function cappedCubic(episode: number): boolean {
  if (episode < 1000) return Math.round(Math.cbrt(episode)) ** 3 === episode;
  return episode % 1000 === 0;
}

/** A monitor's `video_callable`: 0 never, n every n-th episode, CAPPED_CUBIC Gym's default schedule. */
export const CAPPED_CUBIC = -1;
export function videoScheduled(videoEvery: number | null, episode: number): boolean {
  if (videoEvery === null || videoEvery === 0) return false;
  return videoEvery === CAPPED_CUBIC ? cappedCubic(episode) : episode % videoEvery === 0;
}

export const NOT_RECORDING: RecordingState = { all: false, videoEvery: null, monitorEpisodes: 0, episodes: 0, step: 0, whole: false };

/**
 * The frame after a reset (`reset`) or a step, when the episode is recorded whole or the step asked
 * for it (`asked`: `render: 1`), else null. Counts episodes and steps in `rec`. An env that cannot
 * draw records nothing, and a renderer's failure costs a frame, never the client its reply.
 */
export function recordFrame(rec: RecordingState, runner: EnvRunner, reset: boolean, asked: boolean): RecordedFrame | null {
  if (reset) {
    rec.whole = rec.all || videoScheduled(rec.videoEvery, rec.monitorEpisodes);
    rec.episodes += 1;
    if (rec.videoEvery !== null) rec.monitorEpisodes += 1;
    rec.step = 0;
  } else rec.step += 1;
  if (!(rec.whole || asked) || !runner.env.metadata.render_modes.includes('rgb_array')) return null;
  let frame: RgbFrame | string;
  try {
    frame = runner.render('rgb_array');
  } catch {
    return null;
  }
  if (typeof frame === 'string') return null;
  return {
    width: frame.width,
    height: frame.height,
    data: frame.data,
    envId: runner.spec.id,
    fps: runner.env.metadata.render_fps ?? 30,
    episode: rec.episodes - 1,
    step: rec.step,
  };
}
