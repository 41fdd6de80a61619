// Classic-control frames against the frames Gymnasium 1.3.0 rendered (test/fixtures/frames): each
// golden state is put into a fresh env, rendered, and compared pixel by pixel. Target: at least
// 99.5% of pixels identical and every difference on an antialiased edge; Pendulum's arrow is an image
// asset in Gymnasium, so the pixels it touched there (its mask) and the pixels our own arrow touches
// are left out, and the arrow-free frame is compared as well.
import { describe, expect, it } from 'vitest';
import { makeEnv } from '../src/envs/registry.js';
import type { Env, RgbFrame } from '../src/envs/env.js';
import { compareFrames, fixturePng, frameSidecar, frameStems, type FrameSidecar } from './frames-golden.js';

/** A fresh env holding the state the sidecar says Gymnasium drew. */
export function envAt(sidecar: FrameSidecar): Env {
  const { env } = makeEnv(sidecar.env_id);
  const target = env as unknown as Record<string, unknown>;
  target.state = [...sidecar.internal.state];
  if (sidecar.env_id === 'Pendulum-v1') target.lastU = sidecar.internal.last_u ?? null;
  return env;
}

/** A frame, copied: the renderer reuses its bytes for the next frame (src/render/canvas.ts). */
function render(env: Env): RgbFrame {
  const frame = env.render('rgb_array') as RgbFrame;
  return { width: frame.width, height: frame.height, data: frame.data.slice() };
}

const TARGET = 0.995;

describe('classic-control frames match Gymnasium 1.3.0', () => {
  for (const stem of frameStems()) {
    it(stem, () => {
      const sidecar = frameSidecar(stem);
      const [height, width] = sidecar.render.shape;
      const env = envAt(sidecar);
      const frame = render(env);
      expect([frame.height, frame.width, frame.data.length]).toEqual([height, width, height * width * 3]);
      const expected = fixturePng(sidecar.render.png);

      let skip: Uint8Array | undefined;
      const asset = sidecar.asset_pixels;
      if (asset?.drawn && asset.mask_png) {
        // Left out: the pixels Gymnasium's arrow image changed, and those our own arrow changes.
        skip = fixturePng(asset.mask_png).slice();
        (env as unknown as { lastU: number | null }).lastU = null;
        const plain = render(env);
        for (let p = 0; p < skip.length; p++) {
          const o = p * 3;
          if (plain.data[o] !== frame.data[o] || plain.data[o + 1] !== frame.data[o + 1] || plain.data[o + 2] !== frame.data[o + 2]) skip[p] = 1;
        }
        if (asset.noarrow_png) {
          const noArrow = compareFrames(plain.data, fixturePng(asset.noarrow_png), width, height);
          console.log(`${stem} without arrow: ${(noArrow.identical * 100).toFixed(3)}% identical, max diff ${noArrow.maxDiff}`);
          expect(noArrow.identical).toBeGreaterThanOrEqual(TARGET);
          expect(noArrow.offEdge).toBe(0);
        }
      }
      const result = compareFrames(frame.data, expected, width, height, skip);
      console.log(`${stem}: ${(result.identical * 100).toFixed(3)}% identical, max diff ${result.maxDiff}, ${result.compared} pixels compared`);
      expect(result.identical).toBeGreaterThanOrEqual(TARGET);
      expect(result.offEdge).toBe(0);
    });
  }
});

describe('frames survive a snapshot', () => {
  it("Pendulum's last torque (its arrow) travels in the snapshot, so a rebuilt env draws the same frame", () => {
    const sidecar = frameSidecar('Pendulum-v1__state__upright_u_plus_2');
    const env = envAt(sidecar);
    const before = render(env);
    const { env: rebuilt } = makeEnv(sidecar.env_id);
    rebuilt.restore(JSON.parse(JSON.stringify(env.snapshot())));
    expect((rebuilt as unknown as { lastU: number | null }).lastU).toBe(sidecar.internal.last_u);
    expect(Buffer.from(render(rebuilt).data).equals(Buffer.from(before.data))).toBe(true);
  });
});
