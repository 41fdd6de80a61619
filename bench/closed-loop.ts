/**
 * The measurement both load generators make: every player steps in a closed loop (one request in
 * flight, reset when the episode ends); after a warm-up, count steps and time each one, and the
 * CPU time the load generator and the server spent on them.
 */
import { cpuMicrosOf } from '../scripts/lib/proc.js';

export interface Player {
  /** Sends one step and resolves with whether the episode ended. */
  step(action: number): Promise<boolean>;
  reset(): Promise<unknown>;
}

export interface ClosedLoopResult {
  steps: number;
  stepsPerSecond: number;
  p50us: number;
  p99us: number;
  /**
   * CPU time per step over the measured window (resets included), in µs: this load generator's, and
   * the server's (all its threads) when its pid was given and /proc exists, else NaN.
   */
  cpuMicrosPerStep: { client: number; server: number };
}

export async function measureClosedLoop(players: Player[], seconds: number, serverPid?: number, warmupMs = 500): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let measuring = false;
  let running = true;
  const play = async (player: Player) => {
    let action = 0;
    while (running) {
      // performance.now() has sub-microsecond resolution and, unlike hrtime.bigint(), allocates nothing.
      const t0 = performance.now();
      const done = await player.step(action);
      if (measuring) latencies.push((performance.now() - t0) * 1000);
      action = 1 - action;
      if (done) await player.reset();
    }
  };
  const loops = players.map(play);
  await new Promise((r) => setTimeout(r, warmupMs));
  const readCpu = () => ({ client: cpuMicrosOf('self'), server: serverPid ? cpuMicrosOf(serverPid) : NaN });
  const cpuBefore = readCpu();
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuAfter = readCpu();
  running = false;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  const cpuMicrosPerStep = {
    client: (cpuAfter.client - cpuBefore.client) / latencies.length,
    server: (cpuAfter.server - cpuBefore.server) / latencies.length,
  };
  return { steps: latencies.length, stepsPerSecond: latencies.length / elapsed, p50us: pct(50), p99us: pct(99), cpuMicrosPerStep };
}
