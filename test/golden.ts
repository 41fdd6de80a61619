/**
 * The golden files in test/fixtures/golden: trajectories, resets and samples produced by Gymnasium
 * and NumPy themselves (see GYMNASIUM_README.md there), which the envs and the RNG must reproduce.
 */
import { readFileSync } from 'node:fs';

/** A golden file's text, for readers that parse it their own way (inf/nan strings, int/float marks). */
export function goldenText(file: string): string {
  return readFileSync(new URL(`./fixtures/golden/${file}`, import.meta.url), 'utf8');
}

/** One episode of a golden file (any family): its seeded reset, then every step until its end. */
export interface GoldenEpisode<Reset, Step> {
  reset_seed: number;
  reset: Reset;
  steps: Step[];
  length: number;
  end: 'terminated' | 'truncated' | 'cap';
  /** What the episode shows, in files that pick episodes for a reason (Blackjack's cases). */
  label?: string;
}
