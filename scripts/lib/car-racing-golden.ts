/**
 * Replays Gymnasium's recorded CarRacing resets and episodes (golden files, see
 * test/fixtures/box2d/README.md) on gym-tcp's env in-process and measures them: the track exactly,
 * rewards/termination/info exactly, body states against atol 2e-4, pixels against Gymnasium's
 * frames (raw bytes where recorded, the channel sums everywhere). The report script and the tests
 * share it.
 */
import { NpRandom } from '../../src/rng/index.js';
import { CarRacingEnv, carRacingKwargs, type RaceWorld } from '../../src/envs/box2d/car_racing.js';

export interface GoldenObs {
  sha256: string;
  sum_rgb: [number, number, number];
  mean: number;
  raw_base64?: string;
}

export interface GoldenBody {
  position: [number, number];
  angle: number;
  linearVelocity: [number, number];
  angularVelocity: number;
}

export interface GoldenInternal {
  hull: GoldenBody;
  wheels: (GoldenBody & { omega: number; phase: number; tiles: number[] })[];
  reward: number;
  tile_visited_count: number;
}

export interface GoldenCarStep {
  action: number[];
  obs: GoldenObs;
  reward: number;
  terminated: boolean;
  truncated: boolean;
  info: Record<string, unknown>;
  internal?: GoldenInternal;
}

export interface GoldenWorld {
  n_tiles: number;
  create_track_calls: number;
  track_alpha_beta_x_y: [number, number, number, number][];
  n_road_poly: number;
  n_border_poly: number;
}

export interface GoldenCarEpisode {
  reset_seed: number | string;
  reset: { obs: GoldenObs; internal?: GoldenInternal; world?: GoldenWorld };
  steps: GoldenCarStep[];
  length: number;
  end: string;
  return: number;
  label?: string;
  policy?: string;
  out_of_bounds_actions?: boolean;
}

/** How a frame compares with Gymnasium's: mean |difference| per byte, and the share of bytes within 16 levels. */
export interface PixelAgreement {
  meanAbs: number;
  within16: number;
}

export function comparePixels(ours: ArrayLike<number>, rawBase64: string): PixelAgreement {
  const theirs = Buffer.from(rawBase64, 'base64');
  let sum = 0;
  let close = 0;
  for (let i = 0; i < theirs.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    sum += d;
    if (d <= 16) close++;
  }
  return { meanAbs: sum / theirs.length, within16: close / theirs.length };
}

/** |difference| of the per-channel means (what the summaries of every step allow). */
export function meanChannelError(ours: ArrayLike<number>, golden: GoldenObs): number {
  const sums = [0, 0, 0];
  for (let i = 0; i < ours.length; i++) sums[i % 3] += ours[i];
  const n = ours.length / 3;
  return Math.max(...sums.map((s, k) => Math.abs(s - golden.sum_rgb[k]) / n));
}

/** Largest |ours - Gymnasium's| over the hull's and wheels' positions, angles, velocities and the wheels' spin. */
export function bodyError(race: RaceWorld, g: GoldenInternal): number {
  let max = 0;
  const cmp = (a: number, b: number) => (max = Math.max(max, Math.abs(a - b)));
  const body = (b: RaceWorld['car']['hull'], gb: GoldenBody) => {
    const p = b.getPosition();
    const v = b.getLinearVelocity();
    cmp(p.x, gb.position[0]);
    cmp(p.y, gb.position[1]);
    cmp(b.getAngle(), gb.angle);
    cmp(v.x, gb.linearVelocity[0]);
    cmp(v.y, gb.linearVelocity[1]);
    cmp(b.getAngularVelocity(), gb.angularVelocity);
  };
  body(race.car.hull, g.hull);
  race.car.wheels.forEach((w, i) => {
    body(w.body, g.wheels[i]);
    cmp(w.omega, g.wheels[i].omega);
  });
  return max;
}

/** Largest |difference| of the track points, or Infinity when the counts differ. */
export function trackError(race: RaceWorld, world: GoldenWorld): number {
  if (race.track.length !== world.track_alpha_beta_x_y.length) return Infinity;
  let max = 0;
  race.track.forEach((p, i) => p.forEach((v, k) => (max = Math.max(max, Math.abs(v - world.track_alpha_beta_x_y[i][k])))));
  return max;
}

export interface CarEpisodeAgreement {
  seed: string;
  label: string;
  length: number;
  ourLength: number;
  /** Steps whose reward, terminated, truncated or info differ from Gymnasium's (null: none). */
  firstOutcomeDifference: number | null;
  /** First recorded step whose body state leaves atol (null: none of the recorded ones). */
  firstBodyDivergence: number | null;
  /** Largest |mean per channel| difference over the steps before the body state diverges. */
  maxChannelMeanError: number;
  /** Over the raw frames recorded before the body state diverges (reset included). */
  rawFrames: PixelAgreement[];
  returnOurs: number;
}

export function makeCarRacing(kwargs: Record<string, unknown> = {}): CarRacingEnv {
  return new CarRacingEnv(carRacingKwargs.parse(kwargs));
}

/**
 * Replays one golden episode on a fresh env: seeded reset, then the recorded actions (`drawFrames`
 * false: the dynamics only, pixels not compared after the reset).
 */
export function replayCarEpisode(episode: GoldenCarEpisode, atol = 2e-4, maxSteps = Infinity, drawFrames = true): CarEpisodeAgreement {
  const env = makeCarRacing();
  env.drawFrames = drawFrames;
  env.npRandom = NpRandom.fromSeed(BigInt(episode.reset_seed));
  const reset = env.reset();
  const result: CarEpisodeAgreement = {
    seed: String(episode.reset_seed),
    label: episode.label ?? (episode.out_of_bounds_actions ? 'out-of-bounds' : 'random'),
    length: episode.length,
    ourLength: 0,
    firstOutcomeDifference: null,
    firstBodyDivergence: null,
    maxChannelMeanError: drawFrames ? meanChannelError(reset.obs, episode.reset.obs) : 0,
    rawFrames: drawFrames && episode.reset.obs.raw_base64 ? [comparePixels(reset.obs, episode.reset.obs.raw_base64)] : [],
    returnOurs: 0,
  };
  const steps = episode.steps.slice(0, maxSteps);
  for (let i = 0; i < steps.length; i++) {
    const g = steps[i];
    const got = env.step(env.actionSpace.parseAction(g.action));
    result.ourLength++;
    result.returnOurs += got.reward;
    const truncated = got.truncated || i + 1 === 1000;
    if (
      result.firstOutcomeDifference === null &&
      (got.reward !== g.reward || got.terminated !== g.terminated || truncated !== g.truncated || JSON.stringify(got.info) !== JSON.stringify(g.info))
    )
      result.firstOutcomeDifference = i;
    if (result.firstBodyDivergence === null) {
      if (g.internal && bodyError(env.race!, g.internal) > atol) result.firstBodyDivergence = i;
      else if (drawFrames) {
        result.maxChannelMeanError = Math.max(result.maxChannelMeanError, meanChannelError(got.obs, g.obs));
        if (g.obs.raw_base64) result.rawFrames.push(comparePixels(got.obs, g.obs.raw_base64));
      }
    }
    if (got.terminated || truncated) break;
  }
  env.close();
  return result;
}
