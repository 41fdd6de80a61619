/**
 * The reference frames in test/fixtures/frames: what Gymnasium 1.3.0 (pygame 2.1.2) rendered, with the
 * env state drawn beside each (format: test/fixtures/frames/README.md), and the pixel comparison the
 * frame tests share.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { decodePng } from '../src/render/png.js';

const DIR = new URL('./fixtures/frames/', import.meta.url);

export interface FrameSidecar {
  env_id: string;
  source: 'episode' | 'set_state';
  label?: string;
  reset_seed?: number;
  action_seed?: number | null;
  step?: number;
  actions_since_reset?: unknown[];
  internal: { state: number[]; state_dtype: string; steps_beyond_terminated?: number | null; last_u?: number | null };
  render: { png: string; shape: [number, number, number]; render_fps: number };
  asset_pixels: null | { drawn: boolean; mask_png?: string | null; noarrow_png?: string | null; blit_rect_xyxy?: number[] | null };
}

/** Every classic-control frame's stem (file name without `.json`). */
export function frameStems(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function frameSidecar(stem: string): FrameSidecar {
  return JSON.parse(readFileSync(new URL(`${stem}.json`, DIR), 'utf8')) as FrameSidecar;
}

/** A fixture PNG's samples (RGB frames, or the greyscale asset masks). */
export function fixturePng(file: string): Uint8Array {
  return decodePng(readFileSync(new URL(file, DIR))).data;
}

export function toyTextGolden(file: string): any {
  return JSON.parse(readFileSync(new URL(`toy_text/${file}`, DIR), 'utf8'));
}

export interface FrameComparison {
  /** Share of compared pixels with all three channels identical. */
  identical: number;
  /** Largest difference of one channel over the compared pixels. */
  maxDiff: number;
  /** Differing pixels none of whose 8 neighbours in the reference has another colour (not on an edge). */
  offEdge: number;
  compared: number;
}

/**
 * Compares an RGB frame with the reference pixel by pixel, skipping pixels where `skip` is non-zero.
 * A differing pixel is "on an edge" when the reference pixel or one of its neighbours differs in
 * colour from another neighbour: antialiasing decides such pixels, and nothing else should differ.
 */
export function compareFrames(actual: Uint8Array, expected: Uint8Array, width: number, height: number, skip?: Uint8Array): FrameComparison {
  let same = 0;
  let compared = 0;
  let maxDiff = 0;
  let offEdge = 0;
  const colourAt = (x: number, y: number): number => {
    const o = (y * width + x) * 3;
    return (expected[o] << 16) | (expected[o + 1] << 8) | expected[o + 2];
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (skip && skip[p]) continue;
      compared++;
      const o = p * 3;
      const d = Math.max(Math.abs(actual[o] - expected[o]), Math.abs(actual[o + 1] - expected[o + 1]), Math.abs(actual[o + 2] - expected[o + 2]));
      if (d === 0) {
        same++;
        continue;
      }
      maxDiff = Math.max(maxDiff, d);
      const own = colourAt(x, y);
      let edge = false;
      for (let dy = -1; dy <= 1 && !edge; dy++) {
        for (let dx = -1; dx <= 1 && !edge; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx >= 0 && ny >= 0 && nx < width && ny < height && colourAt(nx, ny) !== own) edge = true;
        }
      }
      if (!edge) offEdge++;
    }
  }
  return { identical: compared === 0 ? 1 : same / compared, maxDiff, offEdge, compared };
}
