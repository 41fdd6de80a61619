/**
 * Whole seeded episodes played over the protocol, for the behaviour figures of the Box2D envs
 * (`npm run golden -- --box2d --behaviour`) and their tests: what a remote agent gets, through a
 * real socket and the server's own time limit, rather than the env called in-process.
 */
import { GymClient } from '../../src/client/client.js';

/** A policy: the action for an observation (null: before the first one, for a policy that acts blind first). */
export type Policy = (obs: number[] | null, client: GymClient) => unknown | Promise<unknown>;

export interface TcpEpisodesOptions {
  port: number;
  host?: string;
  id: string;
  kwargs?: Record<string, unknown>;
  /** Seeds 0..seeds-1: each seeds the action space and the reset, as `env.reset(seed=s)` and `action_space.seed(s)`. */
  seeds: number;
  newPolicy: () => Policy;
  /** The policy's first action comes before it sees the reset observation (BipedalWalker's heuristic). */
  blindStart?: boolean;
  /** Connections playing seeds side by side (the server spreads them over its workers). */
  connections?: number;
}

/** Each seed's undiscounted return, summed in float64, until `done` (termination or the time limit). */
export async function playOverTcp(o: TcpEpisodesOptions): Promise<number[]> {
  const returns = new Array<number>(o.seeds);
  let next = 0;
  const worker = async () => {
    const client = await GymClient.connect(o.port, o.host ?? '127.0.0.1');
    try {
      for (let seed = next++; seed < o.seeds; seed = next++) {
        // A fresh env per seed, as the golden runs made a fresh Gymnasium env per seed.
        await client.make(o.id, o.kwargs);
        client.seed(seed);
        const reset = await client.reset<number[]>();
        const policy = o.newPolicy();
        let obs: number[] | null = o.blindStart ? null : reset.observation;
        let total = 0;
        for (;;) {
          const step = await client.step<number[]>(await policy(obs, client));
          total += step.reward;
          obs = step.observation;
          if (step.done) break;
        }
        returns[seed] = total;
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: o.connections ?? 2 }, worker));
  return returns;
}
