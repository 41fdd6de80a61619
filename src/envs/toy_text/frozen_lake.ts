/**
 * FrozenLake: walk from the start tile to the goal across a frozen lake without falling into a hole;
 * on slippery ice a move may go sideways. Dynamics, transition table and generator calls follow
 * Gymnasium 1.3's frozen_lake.py.
 *
 * | | |
 * |---|---|
 * | Observation | Discrete(nrow·ncol): the position, row·ncol + col (16 on the 4x4 map, 64 on 8x8) |
 * | Action | Discrete(4): 0 left, 1 down, 2 right, 3 up |
 * | Reward | `reward_schedule` = (goal, hole, frozen or start), by the tile moved onto; (1, 0, 0) by default. 0 for a step taken from a goal or hole tile |
 * | Start | a start tile ("S"; position 0 on the built-in maps) |
 * | Termination | moving onto a hole ("H") or the goal ("G") |
 * | Truncation | 100 steps (FrozenLake-v1), 200 (FrozenLake8x8-v1), by the time limit |
 * | Info | `prob`: the probability of the transition taken (int 1 on reset, a float on steps) |
 *
 * With `is_slippery` the move goes in the intended direction with probability `success_rate` and to
 * each perpendicular direction with (1 - success_rate) / 2; the three are tried in the order
 * (a - 1) mod 4, a, (a + 1) mod 4. Every step draws one `random()`, even when the move is certain.
 */
import { z } from 'zod';
import { NpRandom } from '../../rng/index.js';
import { Discrete } from '../../spaces/index.js';
import { Board } from '../../render/board.js';
import { boundedReal, constant, type EnvSpec, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';
import { colorize } from './ansi.js';
import { TabularEnv, type Transition } from './tabular.js';

/** Largest map side: the transition table grows with the square of it. */
export const MAX_MAP_SIDE = 64;

export const LEFT = 0;
export const DOWN = 1;
export const RIGHT = 2;
export const UP = 3;

/** The built-in maps: S start, F frozen, H hole, G goal. */
export const FROZEN_LAKE_MAPS: Readonly<Record<'4x4' | '8x8', readonly string[]>> = {
  '4x4': ['SFFF', 'FHFH', 'FFFH', 'HFFG'],
  '8x8': ['SFFFFFFF', 'FFFFFFFF', 'FFFHFFFF', 'FFFFFHFF', 'FFFHFFFF', 'FHHFFFHF', 'FHFFHFHF', 'FFFHFFFG'],
};

/** True when the goal can be reached from the top-left corner without stepping on a hole. */
function goalReachable(board: readonly string[][]): boolean {
  const rows = board.length;
  const cols = board[0].length;
  const seen = new Set<number>([0]);
  const stack: [number, number][] = [[0, 0]];
  while (stack.length > 0) {
    const [r, c] = stack.pop()!;
    for (const [dr, dc] of [[1, 0], [0, 1], [-1, 0], [0, -1]]) {
      const nr = r + dr;
      const nc = c + dc;
      if (nr < 0 || nr >= rows || nc < 0 || nc >= cols || seen.has(nr * cols + nc)) continue;
      const tile = board[nr][nc];
      if (tile === 'G') return true;
      if (tile === 'H') continue;
      seen.add(nr * cols + nc);
      stack.push([nr, nc]);
    }
  }
  return false;
}

/**
 * Gymnasium's `generate_random_map(size, p, seed)`: a size×size map whose tiles are frozen with
 * probability p (holes otherwise), start top-left, goal bottom-right, drawn again until the goal is
 * reachable. Same seed, same map as Gymnasium: each attempt is NumPy's
 * `choice(["F", "H"], (size, size), p=[p, 1-p])`, one `random()` per tile in row-major order, a hole
 * when the draw is at or above the normalised cumulative probability of "F".
 * Without a seed the generator is seeded from OS entropy.
 */
export function generateRandomMap(size = 8, p = 0.8, seed: bigint | number | null = null): string[] {
  if (!Number.isSafeInteger(size) || size < 2) {
    // A 1x1 board has its start overwritten by the goal and no attempt can ever succeed.
    throw new RangeError(`generateRandomMap: size must be an integer >= 2, got ${size}`);
  }
  if (!(p >= 0)) throw new RangeError(`generateRandomMap: p must be a probability, got ${p}`);
  const rng = seed === null ? NpRandom.fromEntropy() : NpRandom.fromSeed(seed);
  const frozen = Math.min(1, p);
  // NumPy: cdf = cumsum([p, 1 - p]); cdf /= cdf[-1]; index = searchsorted(cdf, u, side="right").
  const total = frozen + (1 - frozen);
  const frozenCdf = frozen / total;
  // Gymnasium redraws forever; a server must not (with a low p no board ever has a path). The budget
  // is in tiles, so a hopeless 64x64 request costs no more than a hopeless 4x4 one.
  const attempts = Math.max(1, Math.floor(MAX_MAP_TILES_DRAWN / (size * size)));
  for (let attempt = 0; attempt < attempts; attempt++) {
    const board: string[][] = [];
    for (let r = 0; r < size; r++) {
      const row: string[] = [];
      for (let c = 0; c < size; c++) row.push(rng.random() >= frozenCdf ? 'H' : 'F');
      board.push(row);
    }
    board[0][0] = 'S';
    board[size - 1][size - 1] = 'G';
    if (goalReachable(board)) return board.map((row) => row.join(''));
  }
  throw new RangeError(`no ${size}x${size} map with a path to the goal in ${attempts} draws at p=${p}; raise map_p`);
}

/** Tiles drawn for one random map before giving up: a map with a fair chance of a path needs a handful of draws. */
const MAX_MAP_TILES_DRAWN = 1_000_000;

/** Why a custom map cannot be used, or null if it can. */
function mapProblem(rows: readonly string[]): string | null {
  if (rows.length === 0 || rows[0].length === 0) return 'desc must have at least one row and one column';
  if (!rows.every((row) => row.length === rows[0].length)) return 'desc rows must all have the same length';
  if (!rows.every((row) => /^[SFHG]*$/.test(row))) return 'desc tiles must be S (start), F (frozen), H (hole) or G (goal)';
  if (!rows.some((row) => row.includes('S'))) return 'desc needs at least one start tile S';
  return null;
}

/** A map as a list of row strings (or of lists of one-letter tiles, which NumPy also accepts). */
const mapSchema = z
  .array(z.union([z.string().max(MAX_MAP_SIDE), z.array(z.string().length(1)).max(MAX_MAP_SIDE).transform((tiles) => tiles.join(''))]))
  .max(MAX_MAP_SIDE)
  .superRefine((rows, ctx) => {
    const problem = mapProblem(rows);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Gymnasium's constructor arguments; `map_name` defaults to the registered map of the id. */
function makeKwargsSchema(defaultMap: '4x4' | '8x8') {
  return z.strictObject({
    /** A custom map (list of rows); overrides map_name. */
    desc: mapSchema.nullable().default(null),
    /** A built-in map; with desc and map_name both null, a random 8x8 map is generated. */
    map_name: z.enum(['4x4', '8x8']).nullable().default(defaultMap),
    is_slippery: z.boolean().default(true),
    success_rate: z.number().min(0).max(1).default(1.0 / 3.0),
    /** Rewards for moving onto the goal, a hole, a frozen (or start) tile. */
    reward_schedule: z.tuple([boundedReal(), boundedReal(), boundedReal()]).default([1, 0, 0]),
    /**
     * gym-tcp extension, used when desc and map_name are both null: the random map is
     * `generate_random_map(size=map_size, p=map_p, seed=map_seed)`, so a client can reproduce it.
     */
    map_size: z.number().int().min(2).max(MAX_MAP_SIDE).default(8),
    map_p: z.number().min(0).max(1).default(0.8),
    map_seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().default(null),
  });
}

export const frozenLakeKwargs = makeKwargsSchema('4x4');
export const frozenLake8x8Kwargs = makeKwargsSchema('8x8');
export type FrozenLakeKwargs = z.infer<typeof frozenLakeKwargs>;

const METADATA = envMetadata({ render_fps: 4, render_modes: ['ansi', 'rgb_array'] });

export class FrozenLakeEnv extends TabularEnv {
  /** Gymnasium's `metadata` (frozen_lake.py): 4 frames per second. */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace: Discrete;
  readonly actionSpace = new Discrete(4);
  /** The map in use, one string per row. */
  readonly desc: readonly string[];
  readonly nrow: number;
  readonly ncol: number;
  readonly initialStateDistrib: readonly number[];
  readonly #successRate: number;
  readonly #isSlippery: boolean;
  readonly #rewardSchedule: readonly [number, number, number];

  constructor(kwargs: Partial<FrozenLakeKwargs> = {}) {
    super();
    const mapName = kwargs.map_name === undefined ? '4x4' : kwargs.map_name;
    let desc = kwargs.desc ?? (mapName === null ? null : FROZEN_LAKE_MAPS[mapName]);
    if (desc === null) {
      // A random map. Without map_seed, Gymnasium seeds it from OS entropy; drawing that seed here
      // and remembering it lets the very same env be made again (see Env.madeWith).
      const mapSeed = kwargs.map_seed ?? Number(NpRandom.fromEntropy().seed! & BigInt(Number.MAX_SAFE_INTEGER));
      desc = generateRandomMap(kwargs.map_size ?? 8, kwargs.map_p ?? 0.8, mapSeed);
      if (kwargs.map_seed == null) this.madeWith = { ...kwargs, map_seed: mapSeed };
    }
    const isSlippery = kwargs.is_slippery ?? true;
    const successRate = kwargs.success_rate ?? 1.0 / 3.0;
    const rewardSchedule = kwargs.reward_schedule ?? [1, 0, 0];

    this.desc = constant([...desc]);
    const nrow = (this.nrow = desc.length);
    const ncol = (this.ncol = desc[0].length);
    const nS = nrow * ncol;

    const starts = desc.join('').split('').map((tile) => (tile === 'S' ? 1 : 0));
    const startCount = starts.reduce((a: number, b) => a + b, 0);
    this.initialStateDistrib = constant(starts.map((x) => x / startCount));

    this.#successRate = successRate;
    this.#isSlippery = isSlippery;
    this.#rewardSchedule = rewardSchedule;
    this.observationSpace = new Discrete(nS);
  }

  /** Row `s` of P, as Gymnasium's constructor builds it. */
  protected transitionRow(s: number): Transition[][] {
    const { desc, nrow, ncol } = this;
    const successRate = this.#successRate;
    const rewardSchedule = this.#rewardSchedule;
    const failRate = (1.0 - successRate) / 2.0;
    const moveTo = (row: number, col: number, a: number): Omit<Transition, 'prob'> => {
      if (a === LEFT) col = Math.max(col - 1, 0);
      else if (a === DOWN) row = Math.min(row + 1, nrow - 1);
      else if (a === RIGHT) col = Math.min(col + 1, ncol - 1);
      else if (a === UP) row = Math.max(row - 1, 0);
      const tile = desc[row][col];
      const reward = tile === 'G' ? rewardSchedule[0] : tile === 'H' ? rewardSchedule[1] : rewardSchedule[2];
      return { next: row * ncol + col, reward, terminated: tile === 'G' || tile === 'H' };
    };
    const row = Math.floor(s / ncol);
    const col = s % ncol;
    const tile = desc[row][col];
    const byAction: Transition[][] = [];
    for (let a = 0; a < 4; a++) {
      if (tile === 'G' || tile === 'H') {
        byAction.push([{ prob: 1.0, next: s, reward: 0, terminated: true }]);
      } else if (this.#isSlippery) {
        byAction.push([(a + 3) % 4, a, (a + 1) % 4].map((b) => ({ prob: b === a ? successRate : failRate, ...moveTo(row, col, b) })));
      } else {
        byAction.push([{ prob: 1.0, ...moveTo(row, col, a) }]);
      }
    }
    return byAction;
  }

  /** `ansi`: Gymnasium's text (the map, the walker's tile on red, the last move); `rgb_array`: our own board art at Gymnasium's frame size. */
  override render(mode: RenderMode): RgbFrame | string {
    const row = Math.floor(this.s / this.ncol);
    const col = this.s % this.ncol;
    if (mode === 'ansi') {
      const lines = this.desc.map((line, r) => (r === row ? line.slice(0, col) + colorize(line[col], 'red', { highlight: true }) + line.slice(col + 1) : line));
      const move = this.lastAction === null ? '\n' : `  (${['Left', 'Down', 'Right', 'Up'][this.lastAction]})\n`;
      return move + lines.join('\n') + '\n';
    }
    if (mode !== 'rgb_array') return super.render(mode);
    // Gymnasium's window: 64 px a tile, at most 512 px a side; tiles of window // count.
    const width = Math.min(64 * this.ncol, 512);
    const height = Math.min(64 * this.nrow, 512);
    const cw = Math.floor(width / this.ncol);
    const ch = Math.floor(height / this.nrow);
    const board = new Board(width, height, ICE_EDGE);
    for (let r = 0; r < this.nrow; r++) {
      for (let c = 0; c < this.ncol; c++) {
        const [x, y] = [c * cw, r * ch];
        const tile = this.desc[r][c];
        board.rect(x + 1, y + 1, cw - 2, ch - 2, tile === 'S' ? START_ICE : ICE);
        if (tile === 'H') board.disc(x + cw / 2, y + ch / 2, Math.min(cw, ch) * 0.38, HOLE);
        if (tile === 'G') {
          board.rect(x + cw * 0.25, y + ch * 0.3, cw * 0.5, ch * 0.45, GIFT);
          board.rect(x + cw * 0.46, y + ch * 0.3, cw * 0.08, ch * 0.45, RIBBON);
          board.rect(x + cw * 0.25, y + ch * 0.48, cw * 0.5, ch * 0.08, RIBBON);
        }
      }
    }
    const [ax, ay] = [col * cw + cw / 2, row * ch + ch / 2];
    board.disc(ax, ay, Math.min(cw, ch) * 0.3, WALKER_RIM);
    board.disc(ax, ay, Math.min(cw, ch) * 0.24, this.desc[row][col] === 'H' ? WALKER_FALLEN : WALKER);
    return board.canvas;
  }
}

const ICE = [214, 236, 250] as const;
const ICE_EDGE = [176, 208, 232] as const;
const START_ICE = [196, 226, 246] as const;
const HOLE = [28, 52, 92] as const;
const GIFT = [232, 184, 48] as const;
const RIBBON = [196, 48, 48] as const;
const WALKER = [224, 88, 56] as const;
const WALKER_FALLEN = [120, 120, 120] as const;
const WALKER_RIM = [255, 255, 255] as const;

const SUMMARY = 'Cross a frozen lake from start to goal without falling into a hole; the ice is slippery.';

/**
 * A random map is the costly part of a make: a hopeless one (a low map_p) draws a million tiles before
 * it fails, ~50–65 ms. Prepared elsewhere, the make gets the map itself (desc), which is the same env;
 * map_seed is drawn here when the client gave none, as the constructor would.
 */
const prepareRandomMap: NonNullable<EnvSpec<typeof frozenLakeKwargs>['prepare']> = {
  needed: (kwargs) => kwargs.desc === null && kwargs.map_name === null,
  run: (kwargs) => {
    const mapSeed = kwargs.map_seed ?? Number(NpRandom.fromEntropy().seed! & BigInt(Number.MAX_SAFE_INTEGER));
    return { ...kwargs, map_seed: mapSeed, desc: generateRandomMap(kwargs.map_size, kwargs.map_p, mapSeed) };
  },
};

export const frozenLakeSpecs: EnvSpec<typeof frozenLakeKwargs>[] = [
  {
    id: 'FrozenLake-v1',
    maxEpisodeSteps: 100,
    rewardThreshold: 0.7,
    kwargs: frozenLakeKwargs,
    make: (kwargs) => new FrozenLakeEnv(kwargs),
    prepare: prepareRandomMap,
    summary: SUMMARY,
  },
  {
    id: 'FrozenLake8x8-v1',
    maxEpisodeSteps: 200,
    rewardThreshold: 0.85,
    kwargs: frozenLake8x8Kwargs,
    make: (kwargs) => new FrozenLakeEnv(kwargs),
    prepare: prepareRandomMap,
    summary: SUMMARY + ' (8x8 map)',
  },
];
