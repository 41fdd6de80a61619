/**
 * Blackjack: beat the dealer by getting a hand closer to 21 without going over, drawing from an
 * infinite deck (Sutton & Barto, Example 5.1). Rules and generator calls follow Gymnasium 1.3's
 * blackjack.py.
 *
 * | | |
 * |---|---|
 * | Observation | Tuple(Discrete(32), Discrete(11), Discrete(2)): the player's sum, the dealer's showing card (1 = ace … 10), whether the player has a usable ace |
 * | Action | Discrete(2): 0 stick, 1 hit |
 * | Reward | hit: -1.0 on a bust, else 0.0. stick: +1.0 win, 0.0 draw, -1.0 loss after the dealer draws to 17 or more. With `sab` a player natural beats any dealer hand that is not a natural (+1.0); without `sab`, `natural` pays +1.5 for a winning natural |
 * | Start | two cards each for the dealer, then the player |
 * | Termination | the player busts or sticks |
 * | Truncation | none (no time limit is registered) |
 * | Info | empty |
 *
 * Cards are `choice([1, 2, …, 9, 10, 10, 10, 10])` (1 = ace, 10 and three face cards). A reset also
 * draws the suit of the dealer's showing card (for rendering) and, when it is a 10, its face.
 * Registered default: `sab=True` (Gymnasium's class default is False).
 */
import { z } from 'zod';
import type { NpRandom } from '../../rng/index.js';
import { Discrete, Tuple } from '../../spaces/index.js';
import { Board } from '../../render/board.js';
import { Env, type EnvSpec, type ResetResult, type StepResult, envMetadata, type EnvMetadata, type RenderMode, type RgbFrame } from '../env.js';

export const DECK: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10];
const SUITS: readonly string[] = ['C', 'D', 'H', 'S'];
const FACES: readonly string[] = ['J', 'Q', 'K'];

export type BlackjackObs = [playerSum: number, dealerCard: number, usableAce: number];

export const blackjackKwargs = z.strictObject({
  /** Pay 1.5 for winning with a natural (ignored when sab is true). */
  natural: z.boolean().default(false),
  /** Sutton & Barto's rules: a natural wins unless the dealer also has one. */
  sab: z.boolean().default(true),
});
export type BlackjackKwargs = z.infer<typeof blackjackKwargs>;

const drawCard = (rng: NpRandom) => rng.choice(DECK);
const cardSum = (hand: readonly number[]) => hand.reduce((a, b) => a + b, 0);
/** An ace can count as 11 without busting. */
export const usableAce = (hand: readonly number[]) => (hand.includes(1) && cardSum(hand) + 10 <= 21 ? 1 : 0);
export const handTotal = (hand: readonly number[]) => cardSum(hand) + (usableAce(hand) ? 10 : 0);
const isBust = (hand: readonly number[]) => handTotal(hand) > 21;
const score = (hand: readonly number[]) => (isBust(hand) ? 0 : handTotal(hand));
/** An ace and a ten-valued card as the only two cards. */
const isNatural = (hand: readonly number[]) => hand.length === 2 && hand.includes(1) && hand.includes(10);

const METADATA = envMetadata({ render_fps: 4, render_modes: ['rgb_array'] });

export class BlackjackEnv extends Env<BlackjackObs, number> {
  /** Gymnasium's `metadata` (blackjack.py): 4 frames per second (no `ansi` mode in Gymnasium). */
  override get metadata(): EnvMetadata {
    return METADATA;
  }

  readonly observationSpace = new Tuple<BlackjackObs>([new Discrete(32), new Discrete(11), new Discrete(2)]);
  readonly actionSpace = new Discrete(2);
  readonly natural: boolean;
  readonly sab: boolean;
  /** The hands, cards in the order drawn (1 = ace). */
  player: number[] = [];
  dealer: number[] = [];
  /** Drawn on reset only for rendering in Gymnasium; kept because the draws move the generator. */
  dealerTopCardSuit = '';
  dealerTopCardValueStr = '';

  constructor(kwargs: Partial<BlackjackKwargs> = {}) {
    super();
    this.natural = kwargs.natural ?? false;
    this.sab = kwargs.sab ?? false;
  }

  #obs(): BlackjackObs {
    return [handTotal(this.player), this.dealer[0], usableAce(this.player)];
  }

  reset(): ResetResult<BlackjackObs> {
    const rng = this.rng;
    this.dealer = [drawCard(rng), drawCard(rng)];
    this.player = [drawCard(rng), drawCard(rng)];
    const showing = this.dealer[0];
    this.dealerTopCardSuit = rng.choice(SUITS);
    this.dealerTopCardValueStr = showing === 1 ? 'A' : showing === 10 ? rng.choice(FACES) : String(showing);
    return { obs: this.#obs(), info: {} };
  }

  step(action: number): StepResult<BlackjackObs> {
    const rng = this.rng;
    let terminated: boolean;
    let reward: number;
    if (action === 1) {
      this.player.push(drawCard(rng));
      terminated = isBust(this.player);
      reward = terminated ? -1.0 : 0.0;
    } else {
      terminated = true;
      while (handTotal(this.dealer) < 17) this.dealer.push(drawCard(rng));
      reward = Math.sign(score(this.player) - score(this.dealer));
      if (this.sab) {
        if (isNatural(this.player) && !isNatural(this.dealer)) reward = 1.0;
      } else if (this.natural && isNatural(this.player) && reward === 1.0) {
        reward = 1.5;
      }
    }
    return { obs: this.#obs(), reward, terminated, truncated: false, info: {} };
  }

  /**
   * Our own table art at Gymnasium's 600×500: the dealer's showing card (value and suit) beside a
   * face-down one, the player's sum below, and an "A" badge while the player holds a usable ace.
   */
  override render(mode: RenderMode): RgbFrame | string {
    if (mode !== 'rgb_array') return super.render(mode);
    const [playerSum, , ace] = this.#obs();
    const board = new Board(600, 500, TABLE);
    const [cardW, cardH] = [120, 166];
    board.rect(170, 40, cardW, cardH, CARD_EDGE);
    board.rect(173, 43, cardW - 6, cardH - 6, CARD);
    const red = this.dealerTopCardSuit === 'D' || this.dealerTopCardSuit === 'H';
    board.text(this.dealerTopCardValueStr, 230, 100, 10, red ? RED_INK : INK);
    board.text(this.dealerTopCardSuit, 230, 170, 5, red ? RED_INK : INK);
    board.rect(310, 40, cardW, cardH, CARD_EDGE);
    board.rect(313, 43, cardW - 6, cardH - 6, CARD_BACK);
    for (let k = 0; k < 5; k++) board.rect(323, 58 + k * 30, cardW - 26, 10, CARD_BACK_STRIPE);
    board.rect(200, 250, 200, 8, FELT_LINE);
    board.text(String(playerSum), 300, 360, 16, CARD);
    if (ace) {
      board.disc(470, 360, 36, CARD);
      board.text('A', 470, 360, 8, INK);
    }
    return board.canvas;
  }
}

const TABLE = [7, 99, 36] as const;
const FELT_LINE = [20, 130, 60] as const;
const CARD = [250, 250, 246] as const;
const CARD_EDGE = [30, 30, 30] as const;
const CARD_BACK = [40, 70, 160] as const;
const CARD_BACK_STRIPE = [70, 100, 190] as const;
const INK = [20, 20, 20] as const;
const RED_INK = [200, 30, 30] as const;

export const blackjackSpecs: EnvSpec<typeof blackjackKwargs>[] = [
  {
    id: 'Blackjack-v1',
    maxEpisodeSteps: null,
    rewardThreshold: null,
    kwargs: blackjackKwargs,
    make: (kwargs) => new BlackjackEnv(kwargs),
    summary: 'Play blackjack against a dealer who draws to 17: hit or stick (Sutton & Barto rules by default).',
  },
];
