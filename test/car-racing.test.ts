/**
 * CarRacing-v3 against Gymnasium's own numbers (test/fixtures/box2d/CarRacing-v3.json, trimmed):
 * exactly the random draws, tracks, tile counts, rewards, terminations and `info`; body states and
 * pixels within the tolerances docs/box2d.md states, with the margins measured there.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NpRandom } from '../src/rng/index.js';
import { PCG64 } from '../src/rng/pcg64.js';
import { canonicalEnvId, loadEnvFamily, makeEnv } from '../src/envs/registry.js';
import { CarRacingEnv, carRacingKwargs, createTrack } from '../src/envs/box2d/car_racing.js';
import { EnvRunner } from '../src/envs/runner.js';
import { BadResetOptionsError } from '../src/envs/errors.js';
import { formatScore } from '../src/envs/box2d/car_racing_view.js';
import { Canvas } from '../src/render/canvas.js';
import { lines, polygon } from '../src/render/draw.js';
import { aapolygon, filledPolygon } from '../src/render/gfxdraw.js';
import { smoothscale } from '../src/render/smoothscale.js';
import { UniformColumns } from '../src/render/uniform-columns.js';
import { bodyError, comparePixels, replayCarEpisode, trackError, type GoldenCarEpisode } from '../scripts/lib/car-racing-golden.js';

const g = JSON.parse(
  readFileSync(new URL('./fixtures/box2d/CarRacing-v3.json', import.meta.url), 'utf8').replace(/"(seed|reset_seed)":(\d{16,})/g, '"$1":"$2"'),
);

const make = (kwargs: Record<string, unknown> = {}) => new CarRacingEnv(carRacingKwargs.parse(kwargs));
function seeded(seed: number | string, kwargs: Record<string, unknown> = {}): CarRacingEnv {
  const env = make(kwargs);
  env.npRandom = NpRandom.fromSeed(BigInt(seed));
  return env;
}

/** A generator that writes down each uniform draw, as Gymnasium's rng_trace does. */
class RecordingRandom extends NpRandom {
  readonly draws: number[] = [];
  override uniform(low: number, high: number): number {
    const x = super.uniform(low, high);
    this.draws.push(x);
    return x;
  }
}

describe('CarRacing-v3 against Gymnasium', () => {
  it('has the same spaces, limits and ids', async () => {
    await loadEnvFamily('CarRacing-v0');
    for (const id of ['CarRacing-v0', 'CarRacing-v1', 'CarRacing-v2']) expect(canonicalEnvId(id)).toBe('CarRacing-v3');
    const { spec, env } = makeEnv('CarRacing-v3');
    expect([spec.maxEpisodeSteps, spec.rewardThreshold]).toEqual([g.spec.max_episode_steps, g.spec.reward_threshold]);
    expect(env.metadata.render_fps).toBe(g.metadata.render_fps);
    const obs = env.observationSpace.describe() as { shape: number[]; dtype: string; low: { value: number }[]; high: { value: number }[] };
    expect([obs.shape, obs.dtype]).toEqual([g.observation_space.shape, g.observation_space.dtype]);
    expect(new Set(obs.low.map((x) => x.value))).toEqual(new Set([0]));
    expect(new Set(obs.high.map((x) => x.value))).toEqual(new Set([255]));
    const act = env.actionSpace.describe() as { shape: number[]; low: { value: number }[]; high: { value: number }[]; dtype: string };
    expect([act.shape, act.low.map((x) => x.value), act.high.map((x) => x.value), act.dtype]).toEqual([
      g.action_space.shape,
      g.action_space.low,
      g.action_space.high,
      g.action_space.dtype,
    ]);
    expect(makeEnv('CarRacing-v3', { continuous: false }).env.actionSpace.describe()).toMatchObject({ name: 'Discrete', n: 5 });
    expect(() => makeEnv('CarRacing-v3', { lap_complete_percent: 2 })).toThrow(/lap_complete_percent/);
  });

  it('samples actions exactly as action_space.seed(s) + sample()', () => {
    const env = make();
    for (const { seed, samples } of g.action_sample_by_seed) {
      env.actionSpace.seed(BigInt(seed));
      expect(samples.map(() => env.actionSpace.sample()), `seed ${seed}`).toEqual(samples);
    }
  });

  it("draws exactly Gymnasium's random numbers in a seeded reset (and none in steps)", () => {
    const env = make();
    const rng = new RecordingRandom(PCG64.fromSeed(BigInt(g.rng_trace.reset_seed)));
    env.npRandom = rng;
    env.reset();
    expect(rng.draws).toEqual(g.rng_trace.reset_calls.map((c: { result: number }) => c.result));
    rng.draws.length = 0;
    for (const { action } of g.rng_trace.step_calls) env.step(action);
    expect(rng.draws).toEqual([]);
  });

  it('builds the same track, tiles and kerbs for every recorded seed (2**63 included)', () => {
    for (const r of g.reset_by_seed) {
      const env = seeded(r.seed);
      env.reset();
      const race = env.race!;
      expect(race.track.length, `seed ${r.seed}`).toBe(r.world.n_tiles);
      expect(race.createTrackCalls).toBe(r.world.create_track_calls);
      expect(race.roadPoly.length).toBe(r.world.n_road_poly);
      expect(race.roadPoly.length - race.tiles.length).toBe(r.world.n_border_poly);
      // Python's float64 arithmetic, step for step: the ~320 points agree to the last bits (measured ≤ 5e-13).
      if (r.world.track_alpha_beta_x_y) expect(trackError(race, r.world)).toBeLessThan(1e-11);
      // The reset's own step touches the first tiles, as Gymnasium's does.
      expect([race.reward, race.tileVisitedCount]).toEqual([r.internal.reward, r.internal.tile_visited_count]);
      expect(bodyError(race, r.internal)).toBeLessThan(2e-4); // measured ≤ 3.9e-5
    }
  });

  it('retries a track that does not close, with the same draws (seed 36: two attempts)', () => {
    const t = g.track_retry_reset;
    const rng = new RecordingRandom(PCG64.fromSeed(BigInt(t.seed)));
    const env = make();
    env.npRandom = rng;
    env.reset();
    expect(env.race!.createTrackCalls).toBe(2);
    expect(rng.draws).toEqual(t.rng_calls.map((c: { result: number }) => c.result));
    expect(trackError(env.race!, t.world)).toBeLessThan(1e-11);
    // The first attempt alone fails.
    expect(createTrack(NpRandom.fromSeed(t.seed))).toBeNull();
  });

  for (const episode of g.controlled_episodes as GoldenCarEpisode[]) {
    it(`plays the ${episode.label} episode (seed ${episode.reset_seed}) with Gymnasium's rewards, end and info at every step`, () => {
      // The dynamics only (pixels are the next tests'): drawing 800 frames takes most of a minute on a loaded machine.
      const a = replayCarEpisode(episode, 2e-4, Infinity, false);
      expect(a.ourLength).toBe(episode.length);
      expect(a.firstOutcomeDifference).toBeNull();
      expect(a.returnOurs).toBe(episode.return);
      // Body states leave atol 2e-4 at step 99 (lap) and 149 (playfield): docs/box2d.md.
      expect(a.firstBodyDivergence ?? Infinity).toBeGreaterThanOrEqual(80);
    });
  }

  it('gives the recorded random and out-of-bounds episodes the same rewards (first 60 steps)', () => {
    for (const episode of g.episodes as GoldenCarEpisode[]) {
      const a = replayCarEpisode(episode, 2e-4, 60);
      expect(a.firstOutcomeDifference, `seed ${episode.reset_seed}`).toBeNull();
      expect(a.firstBodyDivergence, `seed ${episode.reset_seed}`).toBeNull(); // measured: first at 349 or none
      expect(a.maxChannelMeanError).toBeLessThan(1.5); // measured ≤ 1.05
    }
  });

  it("draws the scene as Gymnasium's frames show it (all but the score text)", () => {
    const frames: { ours: number[]; raw: string }[] = [];
    const r = g.reset_by_seed[0];
    frames.push({ ours: seeded(r.seed).reset().obs, raw: r.obs.raw_base64 });
    for (const episode of g.controlled_episodes) {
      const env = seeded(episode.reset_seed);
      frames.push({ ours: env.reset().obs, raw: episode.reset.obs.raw_base64 });
    }
    for (const { ours, raw } of frames) {
      const theirs = Buffer.from(raw, 'base64');
      // Rows 0..83 are the scene; 84..95 the indicator bar with pygame's text (docs/box2d.md).
      let sceneError = 0;
      for (let i = 0; i < 84 * 96 * 3; i++) sceneError += Math.abs(ours[i] - theirs[i]);
      expect(sceneError / (84 * 96 * 3)).toBeLessThan(0.05); // measured ≤ 0.002
      expect(comparePixels(ours, raw).within16).toBeGreaterThan(0.985); // measured ≥ 0.990
    }
  });

  it('ends a lap at tile 0 once more than lap_complete_percent of the tiles are visited', () => {
    // With 0, touching tile 0 in the reset's step already completes the "lap".
    const env = seeded(3, { lap_complete_percent: 0 });
    env.reset();
    const step = env.step([0, 0, 0]);
    expect([step.terminated, step.info]).toEqual([true, { lap_finished: true }]);
    const normal = seeded(3);
    normal.reset();
    expect(normal.step([0, 0, 0]).terminated).toBe(false);
  });

  it('drives with the five discrete commands as Gymnasium maps them', () => {
    const env = seeded(1, { continuous: false });
    env.reset();
    for (let i = 0; i < 30; i++) env.step(3); // gas: 0.2 on the rear wheels, rising by 0.1 a step
    const car = env.race!.car;
    expect(car.wheels.map((w) => w.gas)).toEqual([0, 0, 0.2, 0.2]);
    env.step(1);
    expect(car.wheels[0].steer).toBe(-0.6);
    env.step(2);
    expect(car.wheels[1].steer).toBe(0.6);
    env.step(4);
    expect(car.wheels.map((w) => w.brake)).toEqual([0.8, 0.8, 0.8, 0.8]);
    expect(car.wheels.map((w) => w.gas)).toEqual([0, 0, 0, 0]);
  });

  it('randomises colours from the seeded generator with domain_randomize', () => {
    const a = seeded(5, { domain_randomize: true });
    const b = seeded(5, { domain_randomize: true });
    a.reset();
    b.reset();
    expect(a.colors).toEqual(b.colors);
    const rng = NpRandom.fromSeed(5);
    const road = [rng.uniform(0, 210), rng.uniform(0, 210), rng.uniform(0, 210)];
    expect(a.colors.road).toEqual(road);
    // The track comes after the 7 colour draws, so it differs from the plain env's of that seed.
    const plain = seeded(5);
    plain.reset();
    expect(a.race!.track.length === plain.race!.track.length && a.race!.track[5][2] === plain.race!.track[5][2]).toBe(false);
  });

  it('keeps the colours on reset(options={"randomize": False}), drawing only the track, as Gymnasium does', () => {
    const env = seeded(5, { domain_randomize: true });
    // Gymnasium's constructor draws the first colours (from OS entropy): a first reset that keeps
    // them shows those, not the default green and grey.
    const made = structuredClone(env.colors);
    expect(made.bg).not.toEqual([102, 204, 102]);
    const first = env.reset({ randomize: false });
    expect(env.colors).toEqual(made);
    // No colour draws before the track: the track is the one a plain env builds from the same seed.
    const plain = seeded(5);
    const plainObs = plain.reset().obs as unknown as Uint8Array;
    expect(env.race!.track).toEqual(plain.race!.track);
    // The frame is the plain env's track in the kept colours (not the plain env's frame).
    expect(Buffer.from(first.obs as unknown as Uint8Array)).not.toEqual(Buffer.from(plainObs));

    // randomize true (the default) draws 7 numbers, then the track's 24 per attempt.
    const rng = new RecordingRandom(PCG64.fromSeed(9n));
    env.npRandom = rng;
    env.reset({ randomize: true });
    const drawn = rng.draws.length;
    expect(drawn).toBe(6 + 24 * env.race!.createTrackCalls); // 6 uniforms (road, bg) and one integers (not recorded)
    const randomized = structuredClone(env.colors);
    expect(randomized).not.toEqual(made);
    expect(randomized.road).toEqual(rng.draws.slice(0, 3));
    rng.draws.length = 0;
    env.reset({ randomize: false });
    expect(env.colors).toEqual(randomized);
    expect(rng.draws.length).toBe(24 * env.race!.createTrackCalls);
    rng.draws.length = 0;
    env.reset({});
    expect(rng.draws.length).toBe(6 + 24 * env.race!.createTrackCalls);

    // Without domain_randomize the option changes nothing (Gymnasium ignores it then).
    const a = seeded(5);
    a.reset({ randomize: true });
    expect([a.colors, a.race!.track]).toEqual([plain.colors, plain.race!.track]);
  });

  it('checks reset options against the spec before anything changes (unknown, mistyped; envs that read none)', async () => {
    const { spec, env } = makeEnv('CarRacing-v3', { domain_randomize: true });
    const runner = new EnvRunner(spec, env);
    runner.seed(5n);
    expect(() => runner.reset({ randomize: 1 })).toThrow(BadResetOptionsError);
    expect(() => runner.reset({ randomize: 1 })).toThrow(/'randomize': .*boolean/);
    expect(() => runner.reset({ colours: false })).toThrow(/unknown reset option 'colours' \(accepted: randomize\)/);
    // The seed is still pending: the next reset is the seeded one.
    runner.reset({ randomize: false });
    const plain = seeded(5);
    plain.reset();
    expect((env as CarRacingEnv).race!.track).toEqual(plain.race!.track);
    const cartpole = makeEnv('CartPole-v1');
    expect(() => new EnvRunner(cartpole.spec, cartpole.env).reset({ low: -0.1 })).toThrow(/unknown reset option 'low' \(accepted: none\)/);
    expect(new EnvRunner(cartpole.spec, cartpole.env).reset({}).obs).toHaveLength(4);
  });

  it('snapshots a reset that kept its colours: the restored env has them and continues bit for bit', () => {
    const env = seeded(6, { domain_randomize: true });
    env.reset();
    const kept = structuredClone(env.colors);
    env.npRandom = NpRandom.fromSeed(21);
    env.reset({ randomize: false });
    for (let i = 0; i < 12; i++) env.step([0.2, 0.5, 0]);
    const copy = make({ domain_randomize: true });
    copy.restore(JSON.parse(JSON.stringify(env.snapshot())));
    expect(copy.colors).toEqual(kept);
    for (let i = 0; i < 5; i++) expect(copy.step([-0.3, 0.4, 0])).toEqual(env.step([-0.3, 0.4, 0]));
  });

  it('renders rgb_array at 600x400 with the same drawing code', () => {
    const env = seeded(0);
    env.reset();
    for (let i = 0; i < 60; i++) env.step([0, 0.5, 0]);
    const frame = env.render('rgb_array') as { width: number; height: number; data: Uint8Array };
    expect([frame.width, frame.height, frame.data.length]).toEqual([600, 400, 600 * 400 * 3]);
    const px = (x: number, y: number) => [...frame.data.subarray((y * 600 + x) * 3, (y * 600 + x) * 3 + 3)];
    expect(px(599, 399)).toEqual([0, 0, 0]); // the indicator bar
    // The car's red hull sits at (500, 600) of the 1000x800 window, (300, 300) here.
    const red = [];
    for (let y = 280; y < 320; y++) for (let x = 290; x < 310; x++) red.push(px(x, y));
    expect(red.some(([r, gr, b]) => r > 150 && gr < 60 && b < 60)).toBe(true);
  });

  it("draws skid-mark lines as pygame.draw.lines does, 1 and 2 pixels wide (pygame's own pixels)", () => {
    const golden = JSON.parse(readFileSync(new URL('./fixtures/box2d/pygame-lines.json', import.meta.url), 'utf8'));
    const widths = new Set<number>();
    for (const [i, c] of golden.cases.entries()) {
      const canvas = new Canvas(64, 48, [0, 0, 0]);
      lines(canvas, c.points, [255, 255, 255], c.width);
      const lit: number[] = [];
      for (let y = 0; y < 48; y++) for (let x = 0; x < 64; x++) if (canvas.data[canvas.offset(x, y)] === 255) lit.push(x + 64 * y);
      expect(lit, `case ${i}: width ${c.width}, ${JSON.stringify(c.points)}`).toEqual(c.lit);
      if (c.lit.length > 0) widths.add(c.width);
    }
    expect(widths).toEqual(new Set([1, 2]));
  });

  it('renders state_pixels as the observation shows the same state (after a reset: byte for byte)', () => {
    const env = seeded(4);
    const obs = env.reset().obs as unknown as Uint8Array;
    expect(env.metadata.render_modes).toEqual(['rgb_array', 'state_pixels']);
    const frame = env.render('state_pixels') as { width: number; height: number; data: Uint8Array };
    expect([frame.width, frame.height]).toEqual([96, 96]);
    expect(Buffer.from(frame.data)).toEqual(Buffer.from(obs));
    expect(() => env.render('ansi')).toThrow(/no 'ansi' rendering/);
  });

  it('shrinks a canvas that tracks its one-colour runs to the same bytes as one drawn pixel by pixel', () => {
    // CarRacing's primitives at random over a 1000x800 canvas: filled and antialiased polygons (spans
    // and blended pixels), pygame polygons, 2-pixel lines, single pixels, some across the edges;
    // drawn twice, on a tracked canvas (one-colour cells kept as colours) and on a plain one.
    const columns = new UniformColumns(1000, 800, 96);
    for (let round = 0; round < 3; round++) {
      const tracked = Canvas.reused(1000, 800, [102, 204, 102], columns);
      const plain = new Canvas(1000, 800, [102, 204, 102]);
      for (const canvas of [tracked, plain]) draw(canvas, NpRandom.fromSeed(11 + round));
      const uniform = columns.state.filter((v) => v >= 0).length / columns.state.length;
      expect(uniform).toBeGreaterThan(0.5); // the shortcut is taken for most of the frame
      expect(Buffer.from(smoothscale(tracked, 96, 96).data)).toEqual(Buffer.from(smoothscale(plain, 96, 96).data));
    }
    function draw(canvas: Canvas, rng: NpRandom): void {
      const color = (): [number, number, number] => [rng.integers(256), rng.integers(256), rng.integers(256)];
      const quad = (size: number) => {
        const [cx, cy] = [rng.uniform(-100, 1100), rng.uniform(-100, 900)];
        return Array.from({ length: 4 }, (_, i) => [cx + size * Math.cos(i * 1.6 + rng.uniform(0, 0.5)), cy + size * Math.sin(i * 1.6 + rng.uniform(0, 0.5))] as [number, number]);
      };
      for (let i = 0; i < 60; i++) {
        const c = color();
        const q = quad(rng.uniform(10, 300));
        aapolygon(canvas, q, c);
        filledPolygon(canvas, q, c);
      }
      for (let i = 0; i < 10; i++) polygon(canvas, quad(rng.uniform(5, 60)), color(), i % 2 === 0);
      for (let i = 0; i < 10; i++) lines(canvas, quad(rng.uniform(5, 200)), color(), 2);
      for (let i = 0; i < 200; i++) canvas.set(rng.integers(1000), rng.integers(800), color());
    }
  });

  it('formats the score as Python\'s "{:04.0f}"', () => {
    expect([6.27, -16.3, 920.8, 0.5, 1.5, -0.4, 12345.6].map(formatScore)).toEqual(['0006', '-016', '0921', '0000', '0002', '-000', '12346']);
  });

  it('snapshots by replay: a restored env continues bit for bit', () => {
    const episode = g.controlled_episodes[0];
    const env = seeded(episode.reset_seed);
    env.reset();
    for (const step of episode.steps.slice(0, 30)) env.step(step.action);
    const copy = make();
    copy.restore(JSON.parse(JSON.stringify(env.snapshot())));
    for (const step of episode.steps.slice(30, 40)) expect(copy.step(step.action)).toEqual(env.step(step.action));
    expect(bodyError(copy.race!, episode.steps[39].internal!)).toBe(bodyError(env.race!, episode.steps[39].internal!));
  });
});
