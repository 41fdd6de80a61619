/**
 * Frames of the Box2D envs (LunarLander, BipedalWalker): Gymnasium's scenes drawn from the physics
 * world. No Gymnasium frames of these envs exist to compare against byte for byte, so the checks are
 * what a viewer relies on: the frame size, the scene's colours where Gymnasium puts them, the bodies
 * drawn where the world has them, and the same frame over a real socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GymTcpServer } from '../src/server/tcp-server.js';
import { CPP, replySchemas, request, requestLine } from '../src/protocol/messages.js';
import { LunarLanderEnv } from '../src/envs/box2d/lunar_lander.js';
import { BipedalWalkerEnv } from '../src/envs/box2d/bipedal_walker.js';
import type { RgbFrame } from '../src/envs/env.js';
import { NpRandom } from '../src/rng/index.js';
import { RawClient, startServer } from './helpers.js';

/** The RGB triple at (x, y), y counted from the top row as in the frame's bytes. */
function pixel(frame: RgbFrame, x: number, y: number): number[] {
  const o = (Math.round(y) * frame.width + Math.round(x)) * 3;
  return [frame.data[o], frame.data[o + 1], frame.data[o + 2]];
}

function count(frame: RgbFrame, rgb: number[]): number {
  let n = 0;
  for (let o = 0; o < frame.data.length; o += 3) if (frame.data[o] === rgb[0] && frame.data[o + 1] === rgb[1] && frame.data[o + 2] === rgb[2]) n++;
  return n;
}

const SCALE = 30;

describe('LunarLander frames', () => {
  it('draws the black sky, the white moon, both flags and the lander where the world has it', () => {
    const env = new LunarLanderEnv();
    env.npRandom = NpRandom.fromSeed(3);
    env.reset();
    for (let i = 0; i < 40; i++) env.step(i % 4);
    expect(env.metadata.render_modes).toEqual(['rgb_array']);
    const frame = env.render('rgb_array') as RgbFrame;
    expect([frame.width, frame.height, frame.data.length]).toEqual([600, 400, 600 * 400 * 3]);
    expect(pixel(frame, 2, 2)).toEqual([0, 0, 0]); // sky
    expect(pixel(frame, 300, 399)).toEqual([255, 255, 255]); // the moon below the helipad
    const { lander, layout } = env.physics!;
    const centre = lander.getWorldCenter();
    expect(pixel(frame, centre.x * SCALE, 400 - centre.y * SCALE)).toEqual([128, 102, 230]);
    // Each flag is a 25×10 px triangle: a few hundred yellow pixels in all, right of each pole.
    const yellow = count(frame, [204, 204, 0]);
    expect(yellow).toBeGreaterThan(150);
    expect(yellow).toBeLessThan(400);
    expect(pixel(frame, layout.helipadX1 * SCALE + 5, 400 - (layout.helipadY * SCALE + 45))).toEqual([204, 204, 0]);
  });

  it('moves with the lander: two states give two frames', () => {
    const env = new LunarLanderEnv();
    env.npRandom = NpRandom.fromSeed(5);
    env.reset();
    const first = Buffer.from((env.render('rgb_array') as RgbFrame).data);
    for (let i = 0; i < 20; i++) env.step(2);
    const second = Buffer.from((env.render('rgb_array') as RgbFrame).data);
    expect(first.equals(second)).toBe(false);
  });
});

describe('BipedalWalker frames', () => {
  it('draws sky, ground and the hull in the view that scrolls with it', () => {
    const env = new BipedalWalkerEnv({ hardcore: false });
    env.npRandom = NpRandom.fromSeed(1);
    env.reset();
    for (let i = 0; i < 30; i++) env.step([0.2, 0.1, 0.2, 0.1]);
    const frame = env.render('rgb_array') as RgbFrame;
    expect([frame.width, frame.height]).toEqual([600, 400]);
    expect(pixel(frame, 599, 150)).toEqual([215, 215, 255]); // sky, below the clouds
    expect(pixel(frame, 300, 399)).toEqual([102, 153, 76]); // earth
    const { hull } = env.physics!;
    const scroll = hull.getPosition().x - 600 / SCALE / 5;
    const offsetX = Math.trunc(600 + Math.max(0, scroll) * SCALE) - 600;
    const centre = hull.getWorldCenter();
    expect(pixel(frame, centre.x * SCALE - offsetX, 400 - centre.y * SCALE)).toEqual([127, 51, 229]);
  });

  it('draws the hardcore course’s obstacles in white', () => {
    const env = new BipedalWalkerEnv({ hardcore: true });
    let whites = 0;
    // Some seed puts an obstacle in the first view; count white pixels below the cloud band.
    for (let seed = 0; seed < 20 && whites === 0; seed++) {
      env.npRandom = NpRandom.fromSeed(seed);
      env.reset();
      const frame = env.render('rgb_array') as RgbFrame;
      for (let y = 200; y < 400; y++) for (let x = 0; x < 600; x++) if (pixel(frame, x, y).every((v) => v === 255)) whites++;
    }
    expect(whites).toBeGreaterThan(0);
  });
});

describe('Box2D frames over TCP', () => {
  let server: GymTcpServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  for (const id of ['LunarLander-v2', 'BipedalWalker-v3']) {
    it(`answers a render of ${id} with a 400×600 frame, and stepping carries on`, async () => {
      const c = await RawClient.connect(server);
      await c.ask(CPP.make(id));
      c.send(CPP.seed(0) + '\r\n');
      await c.ask(CPP.reset);
      const { frame } = replySchemas.frame.parse(await c.ask(requestLine(request.render())));
      expect(frame.shape).toEqual([400, 600, 3]);
      const data = Buffer.from(frame.data, 'base64');
      expect(data.length).toBe(400 * 600 * 3);
      expect(new Set(data).size).toBeGreaterThan(3); // a scene, not a blank canvas
      const step = await c.ask(CPP.step(id.startsWith('Lunar') ? '0' : '[0, 0, 0, 0]'));
      expect(step.error).toBeUndefined();
      await c.end();
    });
  }
});
