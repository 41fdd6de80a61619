/**
 * Taxi: drive a taxi on a 5x5 grid with walls, pick a passenger up at one of four stands (R, G, Y, B)
 * and drop them off at their destination (Dietterich 2000). Transition table, options and generator
 * calls follow Gymnasium 1.3's taxi.py (Taxi-v4).
 *
 * | | |
 * |---|---|
 * | Observation | Discrete(500): ((taxi_row·5 + taxi_col)·5 + passenger)·4 + destination; passenger 0–3 at stand R, G, Y, B, 4 in the taxi; destination 0–3 |
 * | Action | Discrete(6): 0 south, 1 north, 2 east, 3 west, 4 pick up, 5 drop off |
 * | Reward | -1 per step; +20 for dropping the passenger at the destination; -10 for an illegal pick-up or drop-off |
 * | Start | uniform over the 300 states with the passenger at a stand other than the destination |
 * | Termination | the passenger is dropped off at the destination |
 * | Truncation | 200 steps, by the time limit |
 * | Info | `prob`: probability of the transition taken (float); `action_mask`: int8 list of the 6 actions, 1 where the action can change the state |
 *
 * Options: with `is_rainy` a move goes in the intended direction with probability `rainy_probability`
 * and to each side with (1 - rainy_probability) / 2 (sides relative to the heading); a move blocked
 * by a wall or the edge does not drift. With `fickle_passenger`, a reset decides with probability
 * `fickle_probability` that the passenger, once in the taxi, changes destination (uniformly among
 * the other three) on the first step that moves the taxi.
 */
import { z } from 'zod';
import { PyFloat } from '../../json/pyjson.js';
import { Discrete } from '../../spaces/index.js';
import { Board } from '../../render/board.js';
import { constant, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';
import { colorize } from './ansi.js';
import { TabularEnv, type Transition } from './tabular.js';

/** The map: ":" is an open passage between two cells, "|" a wall. */
export const TAXI_MAP: readonly string[] = [
  '+---------+',
  '|R: | : :G|',
  '| : | : : |',
  '| : : : : |',
  '| | : | : |',
  '|Y| : |B: |',
  '+---------+',
];
/** The four stands R, G, Y, B as [row, col]. */
export const TAXI_LOCS: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 4],
  [4, 0],
  [4, 3],
];

const NUM_STATES = 500;
const MAX_ROW = 4;
const MAX_COL = 4;
const IN_TAXI = 4;

export const taxiKwargs = z.strictObject({
  is_rainy: z.boolean().default(false),
  fickle_passenger: z.boolean().default(false),
  rainy_probability: z.number().min(0).max(1).default(0.8),
  fickle_probability: z.number().min(0).max(1).default(0.3),
});
export type TaxiKwargs = z.infer<typeof taxiKwargs>;

export function taxiEncode(row: number, col: number, passenger: number, destination: number): number {
  return ((row * 5 + col) * 5 + passenger) * 4 + destination;
}

export function taxiDecode(state: number): [row: number, col: number, passenger: number, destination: number] {
  return [Math.floor(state / 100), Math.floor(state / 20) % 5, Math.floor(state / 4) % 5, state % 4];
}

/** Is the side of cell (row, col) towards the east open? The west side of (row, col) is the east side of (row, col - 1). */
const openEast = (row: number, col: number) => TAXI_MAP[1 + row][2 * col + 2] === ':';
const openWest = (row: number, col: number) => TAXI_MAP[1 + row][2 * col] === ':';
const standAt = (row: number, col: number) => TAXI_LOCS.findIndex(([r, c]) => r === row && c === col);

/** Pick-up: the passenger boards if the taxi is at their stand; otherwise -10. */
function pickup(row: number, col: number, passenger: number, reward: number): [passenger: number, reward: number] {
  if (passenger < IN_TAXI && standAt(row, col) === passenger) return [IN_TAXI, reward];
  return [passenger, -10];
}

/** Drop-off: ends the episode at the destination, leaves the passenger at another stand, or costs -10. */
function dropoff(
  row: number,
  col: number,
  passenger: number,
  destination: number,
  reward: number,
): [passenger: number, reward: number, terminated: boolean] {
  const stand = standAt(row, col);
  if (passenger === IN_TAXI && stand === destination) return [destination, 20, true];
  if (passenger === IN_TAXI && stand >= 0) return [stand, reward, false];
  return [passenger, -10, false];
}

/** The deterministic table (`is_rainy` off). */
function dryTransition(row: number, col: number, passenger: number, destination: number, action: number): Transition {
  let newRow = row;
  let newCol = col;
  let newPassenger = passenger;
  let reward = -1;
  let terminated = false;
  if (action === 0) newRow = Math.min(row + 1, MAX_ROW);
  else if (action === 1) newRow = Math.max(row - 1, 0);
  else if (action === 2) {
    if (openEast(row, col)) newCol = Math.min(col + 1, MAX_COL);
  } else if (action === 3) {
    if (openWest(row, col)) newCol = Math.max(col - 1, 0);
  } else if (action === 4) [newPassenger, reward] = pickup(row, col, passenger, reward);
  else [newPassenger, reward, terminated] = dropoff(row, col, passenger, destination, reward);
  return { prob: 1.0, next: taxiEncode(newRow, newCol, newPassenger, destination), reward, terminated };
}

/** For each move action: [intended, left of the heading, right of the heading] as [drow, dcol]. */
const RAINY_MOVES: readonly (readonly (readonly [number, number])[])[] = [
  [[1, 0], [0, 1], [0, -1]], // south: left is east, right is west
  [[-1, 0], [0, -1], [0, 1]], // north: left is west, right is east
  [[0, 1], [-1, 0], [1, 0]], // east: left is north, right is south
  [[0, -1], [1, 0], [-1, 0]], // west: left is south, right is north
];

/** Where a sideways drift lands: clamped to the grid, and nowhere if a wall is in the way east or west. */
function drift(row: number, col: number, [dr, dc]: readonly [number, number]): [number, number] {
  const r = Math.max(0, Math.min(row + dr, MAX_ROW));
  const c = Math.max(0, Math.min(col + dc, MAX_COL));
  if (dc === 1 && TAXI_MAP[1 + r][2 * c] !== ':') return [row, col];
  if (dc === -1 && TAXI_MAP[1 + r][2 * c + 2] !== ':') return [row, col];
  return [r, c];
}

/** The table with `is_rainy`: moves have three outcomes, pick-up and drop-off one. */
function rainyTransitions(
  row: number,
  col: number,
  passenger: number,
  destination: number,
  action: number,
  intendedProb: number,
  sideProb: number,
): Transition[] {
  if (action >= 4) return [dryTransition(row, col, passenger, destination, action)];
  const canMove =
    (action === 0 && row < MAX_ROW) ||
    (action === 1 && row > 0) ||
    (action === 2 && openEast(row, col)) ||
    (action === 3 && openWest(row, col));
  let intended: [number, number] = [row, col];
  let left: [number, number] = [row, col];
  let right: [number, number] = [row, col];
  if (canMove) {
    const [forward, leftMove, rightMove] = RAINY_MOVES[action];
    intended = [Math.max(0, Math.min(row + forward[0], MAX_ROW)), Math.max(0, Math.min(col + forward[1], MAX_COL))];
    left = drift(row, col, leftMove);
    right = drift(row, col, rightMove);
  }
  return [
    { prob: intendedProb, next: taxiEncode(intended[0], intended[1], passenger, destination), reward: -1, terminated: false },
    { prob: sideProb, next: taxiEncode(left[0], left[1], passenger, destination), reward: -1, terminated: false },
    { prob: sideProb, next: taxiEncode(right[0], right[1], passenger, destination), reward: -1, terminated: false },
  ];
}

/** Gymnasium's `action_mask(state)`: 1 for each action that can change the state. */
export function taxiActionMask(state: number): number[] {
  const [row, col, passenger, destination] = taxiDecode(state);
  const stand = standAt(row, col);
  return [
    row < MAX_ROW ? 1 : 0,
    row > 0 ? 1 : 0,
    col < MAX_COL && openEast(row, col) ? 1 : 0,
    col > 0 && openWest(row, col) ? 1 : 0,
    passenger < IN_TAXI && stand === passenger ? 1 : 0,
    passenger === IN_TAXI && (stand === destination || stand >= 0) ? 1 : 0,
  ];
}

const METADATA = envMetadata({ render_fps: 4, render_modes: ['ansi', 'rgb_array'] });

export class TaxiEnv extends TabularEnv {
  /** Gymnasium's `metadata` (taxi.py): 4 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Discrete(NUM_STATES);
  readonly actionSpace = new Discrete(6);
  readonly #isRainy: boolean;
  readonly #rainyProbability: number;
  readonly initialStateDistrib: readonly number[];
  readonly fickleProbability: number;
  readonly ficklePassenger: boolean;
  /** Gymnasium's `fickle_step`: the passenger will still change destination on the next move with them aboard. */
  fickleStep = false;

  constructor(kwargs: Partial<TaxiKwargs> = {}) {
    super();
    const isRainy = kwargs.is_rainy ?? false;
    const rainyProbability = kwargs.rainy_probability ?? 0.8;
    this.ficklePassenger = kwargs.fickle_passenger ?? false;
    this.fickleProbability = kwargs.fickle_probability ?? 0.3;

    this.#isRainy = isRainy;
    this.#rainyProbability = rainyProbability;
    const starts = new Array<number>(NUM_STATES).fill(0);
    for (let state = 0; state < NUM_STATES; state++) {
      const [, , passenger, destination] = taxiDecode(state);
      if (passenger < IN_TAXI && passenger !== destination) starts[state] = 1;
    }
    const startCount = starts.reduce((a, b) => a + b, 0);
    this.initialStateDistrib = constant(starts.map((x) => x / startCount));
  }

  protected transitionRow(state: number): Transition[][] {
    const [row, col, passenger, destination] = taxiDecode(state);
    const rainyProbability = this.#rainyProbability;
    const sideProbability = (1.0 - rainyProbability) / 2.0;
    const byAction: Transition[][] = [];
    for (let action = 0; action < 6; action++) {
      byAction.push(
        this.#isRainy
          ? rainyTransitions(row, col, passenger, destination, action, rainyProbability, sideProbability)
          : [dryTransition(row, col, passenger, destination, action)],
      );
    }
    return byAction;
  }

  override reset(): ResetResult<number> {
    super.reset();
    // Only a fickle passenger costs a draw, after the start state's.
    this.fickleStep = this.ficklePassenger && this.rng.random() < this.fickleProbability;
    return { obs: this.s, info: { prob: new PyFloat(1.0), action_mask: taxiActionMask(this.s) } };
  }

  override step(action: number): StepResult<number> {
    const [oldRow, oldCol, oldPassenger, oldDestination] = taxiDecode(this.s);
    const t = this.takeTransition(action);
    const [row, col, passenger] = taxiDecode(t.next);
    if (this.ficklePassenger && this.fickleStep && oldPassenger === IN_TAXI && (row !== oldRow || col !== oldCol)) {
      this.fickleStep = false;
      const others = [0, 1, 2, 3].filter((d) => d !== oldDestination);
      this.s = taxiEncode(row, col, passenger, this.rng.choice(others));
    }
    return {
      obs: this.s,
      reward: t.reward,
      terminated: t.terminated,
      truncated: false,
      info: { prob: new PyFloat(t.prob), action_mask: taxiActionMask(this.s) },
    };
  }

  /** `ansi`: Gymnasium's text (taxi, passenger and destination in colour); `rgb_array`: our own board art at Gymnasium's 550×350. */
  override render(mode: RenderMode): RgbFrame | string {
    const [row, col, passenger, destination] = taxiDecode(this.s);
    if (mode === 'ansi') return this.#text(row, col, passenger, destination);
    if (mode !== 'rgb_array') return super.render(mode);
    const [cw, ch] = [110, 70];
    const board = new Board(5 * cw, 5 * ch, ROAD_EDGE);
    for (let r = 0; r <= MAX_ROW; r++) for (let c = 0; c <= MAX_COL; c++) board.rect(c * cw + 2, r * ch + 2, cw - 4, ch - 4, ROAD);
    TAXI_LOCS.forEach(([r, c], i) => {
      board.rect(c * cw + 2, r * ch + 2, cw - 4, ch - 4, STAND_COLOURS[i]);
      board.text('RGYB'[i], c * cw + 14, r * ch + 16, 3, STAND_LETTER);
    });
    const [dr, dc] = TAXI_LOCS[destination];
    board.frame(dc * cw + 2, dr * ch + 2, cw - 4, ch - 4, 5, DESTINATION);
    // Walls: a "|" between two cells of the map.
    for (let r = 0; r <= MAX_ROW; r++) {
      for (let c = 0; c < MAX_COL; c++) if (TAXI_MAP[1 + r][2 * c + 2] === '|') board.rect((c + 1) * cw - 4, r * ch, 8, ch, WALL);
    }
    board.frame(0, 0, 5 * cw, 5 * ch, 4, WALL);
    const [tx, ty] = [col * cw + cw / 2, row * ch + ch / 2];
    board.rect(tx - 30, ty - 16, 60, 28, passenger === IN_TAXI ? TAXI_FULL : TAXI_BODY);
    board.rect(tx - 16, ty - 26, 32, 12, passenger === IN_TAXI ? TAXI_FULL : TAXI_BODY);
    board.disc(tx - 18, ty + 13, 7, TYRE);
    board.disc(tx + 18, ty + 13, 7, TYRE);
    if (passenger < IN_TAXI) {
      const [pr, pc] = TAXI_LOCS[passenger];
      const [px, py] = [pc * cw + cw - 26, pr * ch + ch / 2];
      board.rect(px - 7, py - 2, 14, 20, PASSENGER);
      board.disc(px, py - 10, 7, PASSENGER);
    }
    return board.canvas;
  }

  #text(row: number, col: number, passenger: number, destination: number): string {
    const out = TAXI_MAP.map((line) => line.split(''));
    const taxiCell = out[1 + row][2 * col + 1];
    if (passenger < IN_TAXI) {
      out[1 + row][2 * col + 1] = colorize(taxiCell, 'yellow', { highlight: true });
      const [pi, pj] = TAXI_LOCS[passenger];
      out[1 + pi][2 * pj + 1] = colorize(out[1 + pi][2 * pj + 1], 'blue', { bold: true });
    } else {
      out[1 + row][2 * col + 1] = colorize(taxiCell === ' ' ? '_' : taxiCell, 'green', { highlight: true });
    }
    const [di, dj] = TAXI_LOCS[destination];
    out[1 + di][2 * dj + 1] = colorize(out[1 + di][2 * dj + 1], 'magenta');
    const move = this.lastAction === null ? '\n' : `  (${['South', 'North', 'East', 'West', 'Pickup', 'Dropoff'][this.lastAction]})\n`;
    return out.map((line) => line.join('')).join('\n') + '\n' + move;
  }
}

const ROAD = [214, 214, 210] as const;
const ROAD_EDGE = [190, 190, 186] as const;
const STAND_COLOURS = [[232, 120, 120], [130, 200, 130], [236, 214, 110], [120, 150, 230]] as const;
const STAND_LETTER = [40, 40, 40] as const;
const DESTINATION = [170, 40, 170] as const;
const WALL = [60, 52, 48] as const;
const TAXI_BODY = [248, 196, 32] as const;
const TAXI_FULL = [64, 176, 80] as const;
const TYRE = [30, 30, 30] as const;
const PASSENGER = [40, 80, 200] as const;

export const taxiSpecs: EnvSpec<typeof taxiKwargs>[] = [
  {
    id: 'Taxi-v4',
    maxEpisodeSteps: 200,
    rewardThreshold: 8,
    kwargs: taxiKwargs,
    make: (kwargs) => new TaxiEnv(kwargs),
    summary: 'Drive a taxi on a 5x5 grid to pick up a passenger and drop them off at their destination.',
  },
];
