/**
 * CliffWalking: cross a 4x12 grid from the bottom-left corner to the bottom-right one along a cliff
 * (Sutton & Barto, Example 6.6). Stepping onto the cliff costs -100 and sends the walker back to the
 * start. Transition table and generator calls follow Gymnasium 1.3's cliffwalking.py.
 *
 * | | |
 * |---|---|
 * | Observation | Discrete(48): the position, row·12 + col |
 * | Action | Discrete(4): 0 up, 1 right, 2 down, 3 left |
 * | Reward | -1 per step; -100 for stepping onto the cliff (row 3, columns 1–10), which returns the walker to the start |
 * | Start | position 36 (row 3, column 0) |
 * | Termination | reaching position 47 (row 3, column 11) |
 * | Truncation | none (no time limit is registered) |
 * | Info | `prob`: the probability of the transition taken (int 1 on reset, a float on steps) |
 *
 * With `is_slippery` (CliffWalkingSlippery-v1) the walker moves in the direction (a - 1) mod 4, a or
 * (a + 1) mod 4 with probability 1/3 each, tried in that order. Every step draws one `random()`.
 */
import { z } from 'zod';
import { Discrete } from '../../spaces/index.js';
import { Board } from '../../render/board.js';
import { constant, type EnvSpec, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';
import { TabularEnv, type Transition } from './tabular.js';

export const UP = 0;
export const RIGHT = 1;
export const DOWN = 2;
export const LEFT = 3;

const NROW = 4;
const NCOL = 12;
const NS = NROW * NCOL;
const START = 3 * NCOL + 0;
const GOAL = 3 * NCOL + (NCOL - 1);
/** [row, col] change of each action. */
const MOVES: readonly (readonly [number, number])[] = [
  [-1, 0],
  [0, 1],
  [1, 0],
  [0, -1],
];

const isCliff = (row: number, col: number) => row === NROW - 1 && col >= 1 && col <= NCOL - 2;

function makeKwargsSchema(slippery: boolean) {
  return z.strictObject({
    is_slippery: z.boolean().default(slippery),
  });
}

export const cliffWalkingKwargs = makeKwargsSchema(false);
export const cliffWalkingSlipperyKwargs = makeKwargsSchema(true);
export type CliffWalkingKwargs = z.infer<typeof cliffWalkingKwargs>;

const METADATA = envMetadata({ render_fps: 4, render_modes: ['ansi', 'rgb_array'] });

export class CliffWalkingEnv extends TabularEnv {
  /** Gymnasium's `metadata` (cliff_walking.py): 4 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Discrete(NS);
  readonly actionSpace = new Discrete(4);
  readonly initialStateDistrib: readonly number[];
  readonly isSlippery: boolean;
  override s = START;

  constructor(kwargs: Partial<CliffWalkingKwargs> = {}) {
    super();
    this.isSlippery = kwargs.is_slippery ?? false;
    this.initialStateDistrib = constant(Array.from({ length: NS }, (_, s) => (s === START ? 1.0 : 0.0)));
  }

  protected transitionRow(s: number): Transition[][] {
    const outcomes = (row: number, col: number, action: number): Transition[] => {
      const directions = this.isSlippery ? [(action + 3) % 4, action, (action + 1) % 4] : [action];
      const prob = 1 / directions.length;
      return directions.map((d) => {
        const r = Math.max(0, Math.min(row + MOVES[d][0], NROW - 1));
        const c = Math.max(0, Math.min(col + MOVES[d][1], NCOL - 1));
        if (isCliff(r, c)) return { prob, next: START, reward: -100, terminated: false };
        const next = r * NCOL + c;
        return { prob, next, reward: -1, terminated: next === GOAL };
      });
    };
    return [UP, RIGHT, DOWN, LEFT].map((a) => outcomes(Math.floor(s / NCOL), s % NCOL, a));
  }

  /** `ansi`: Gymnasium's text (x the walker, C the cliff, T the goal, o the rest); `rgb_array`: our own board art at Gymnasium's 720×240. */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode === 'ansi') {
      let text = '';
      for (let s = 0; s < NS; s++) {
        const [row, col] = [Math.floor(s / NCOL), s % NCOL];
        let cell = this.s === s ? ' x ' : s === GOAL ? ' T ' : isCliff(row, col) ? ' C ' : ' o ';
        if (col === 0) cell = cell.trimStart();
        if (col === NCOL - 1) cell = cell.trimEnd() + '\n';
        text += cell;
      }
      return text + '\n';
    }
    if (mode !== 'rgb_array') return super.render(mode);
    const cell = 60;
    const board = new Board(NCOL * cell, NROW * cell, GRASS_EDGE);
    for (let row = 0; row < NROW; row++) {
      for (let col = 0; col < NCOL; col++) {
        const [x, y] = [col * cell, row * cell];
        const s = row * NCOL + col;
        if (isCliff(row, col)) {
          board.rect(x, y, cell, cell, CLIFF);
          for (let k = 1; k < 4; k++) board.rect(x, y + (k * cell) / 4, cell, 3, CLIFF_CRACK);
          continue;
        }
        board.rect(x + 1, y + 1, cell - 2, cell - 2, s === START ? START_GRASS : GRASS);
        if (s === GOAL) {
          board.rect(x + 22, y + 10, 4, 40, FLAG_POLE);
          board.rect(x + 26, y + 10, 18, 12, FLAG);
        }
      }
    }
    const [cx, cy] = [(this.s % NCOL) * cell + cell / 2, Math.floor(this.s / NCOL) * cell + cell / 2];
    board.disc(cx, cy, 19, WALKER_RIM);
    board.disc(cx, cy, 15, WALKER);
    return board.canvas;
  }
}

const GRASS = [134, 196, 110] as const;
const GRASS_EDGE = [104, 164, 84] as const;
const START_GRASS = [160, 210, 130] as const;
const CLIFF = [112, 84, 62] as const;
const CLIFF_CRACK = [78, 58, 44] as const;
const FLAG_POLE = [60, 60, 60] as const;
const FLAG = [210, 40, 40] as const;
const WALKER = [40, 90, 200] as const;
const WALKER_RIM = [255, 255, 255] as const;

export const cliffWalkingSpecs: EnvSpec<typeof cliffWalkingKwargs>[] = [
  {
    id: 'CliffWalking-v1',
    maxEpisodeSteps: null,
    rewardThreshold: null,
    kwargs: cliffWalkingKwargs,
    make: (kwargs) => new CliffWalkingEnv(kwargs),
    summary: 'Walk along a cliff from start to goal on a 4x12 grid; falling off costs -100.',
  },
  {
    id: 'CliffWalkingSlippery-v1',
    maxEpisodeSteps: null,
    rewardThreshold: null,
    kwargs: cliffWalkingSlipperyKwargs,
    make: (kwargs) => new CliffWalkingEnv(kwargs),
    summary: 'CliffWalking on slippery ground: each move may go sideways.',
  },
];
