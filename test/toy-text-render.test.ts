// Toy-text rendering: `ansi` text exactly as Gymnasium 1.3.0 returned it (test/fixtures/frames/toy_text,
// escape codes included) along whole recorded episodes, and `rgb_array` frames (our own board art) at
// Gymnasium's frame sizes.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RgbFrame } from '../src/envs/env.js';
import { makeEnv } from '../src/envs/registry.js';
import { EnvRunner } from '../src/envs/runner.js';
import { toyTextGolden } from './frames-golden.js';

const FILES = readdirSync(new URL('./fixtures/frames/toy_text/', import.meta.url)).filter((f) => f.endsWith('.json'));

function runnerFor(g: { env_id: string; make_kwargs: Record<string, unknown> }): EnvRunner {
  const { spec, env } = makeEnv(g.env_id, g.make_kwargs);
  return new EnvRunner(spec, env, g.make_kwargs);
}

/** Distinct colours in a frame (a blank or one-colour frame has one). */
function colours(frame: RgbFrame): number {
  const seen = new Set<number>();
  for (let o = 0; o < frame.data.length; o += 3) seen.add((frame.data[o] << 16) | (frame.data[o + 1] << 8) | frame.data[o + 2]);
  return seen.size;
}

describe('toy-text rendering', () => {
  for (const file of FILES) {
    const g = toyTextGolden(file);
    const label = file.replace(/\.json$/, '');

    if (g.ansi) {
      it(`${label}: ansi text is Gymnasium's, frame by frame`, () => {
        let checked = 0;
        for (const episode of g.ansi.episodes) {
          const runner = runnerFor(g);
          runner.seed(BigInt(episode.reset_seed));
          runner.reset();
          for (const frame of episode.frames) {
            if (frame.step > 0) runner.step(frame.action);
            expect(runner.render('ansi'), `${episode.kind} episode, step ${frame.step}`).toBe(frame.text);
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(10);
      });
    } else {
      it(`${label}: has no ansi mode, as in Gymnasium`, () => {
        const runner = runnerFor(g);
        runner.reset();
        expect(runner.env.metadata.render_modes).toEqual(['rgb_array']);
        expect(() => runner.render('ansi')).toThrow(/no 'ansi' rendering/);
      });
    }

    it(`${label}: rgb_array frames at Gymnasium's size (${g.rgb_array.shape.join('×')}), showing the state`, () => {
      const runner = runnerFor(g);
      expect(runner.env.metadata.render_fps).toBe(g.rgb_array.render_fps);
      runner.seed(3n);
      const start = JSON.stringify(runner.reset().obs);
      const shown = runner.render('rgb_array') as RgbFrame;
      // Copied: the renderer reuses its bytes for the next frame (src/render/canvas.ts).
      const first = { ...shown, data: shown.data.slice() };
      expect([first.height, first.width, 3]).toEqual(g.rgb_array.shape);
      expect(first.data.length).toBe(first.height * first.width * 3);
      expect(colours(first)).toBeGreaterThan(4);
      // Step until the observation changes; the frame must change with it.
      let obs = start;
      for (let i = 0; i < 50 && obs === start; i++) {
        const r = runner.step(runner.sampleAction());
        obs = JSON.stringify(r.obs);
        if (r.terminated || r.truncated) obs = JSON.stringify(runner.reset().obs);
      }
      expect(obs).not.toBe(start);
      const second = runner.render('rgb_array') as RgbFrame;
      expect(Buffer.compare(Buffer.from(first.data), Buffer.from(second.data))).not.toBe(0);
    });
  }
});
