/**
 * A well-behaved client beside the fuzzer's and the soak's hostile ones: it plays seeded CartPole
 * episodes and compares every reply byte for byte with a reference session in this process.
 */
import { CPP } from '../../src/protocol/messages.js';
import { referenceReply, referenceSession } from './oracle.js';
import { ReplySocket } from './reply-socket.js';

export interface BystanderStats {
  steps: number;
  episodes: number;
  mismatches: string[];
  maxLatencyMs: number;
}

/**
 * Plays seeded CartPole episodes in a closed loop while `running()` holds (at most `maxEpisodes`),
 * comparing every reply byte for byte with a reference session in this process.
 */
export async function bystander(
  port: number,
  host: string,
  stats: BystanderStats,
  running: () => boolean,
  options: { replyTimeoutMs?: number; maxEpisodes?: number; firstSeed?: number } = {},
): Promise<void> {
  const conn = await ReplySocket.connect(port, host);
  const reference = referenceSession();
  let lastReply = '';
  const ask = async (line: string): Promise<boolean> => {
    const expected = referenceReply(reference, line);
    conn.write(line + '\r\n');
    if (expected === null) return true;
    lastReply = expected;
    const t0 = performance.now();
    const raw = await conn.next(options.replyTimeoutMs ?? 10_000);
    stats.maxLatencyMs = Math.max(stats.maxLatencyMs, performance.now() - t0);
    if (typeof raw === 'string') throw new Error(`bystander: no reply to ${line} (${raw})`);
    const got = raw.toString('utf8');
    if (line.includes('"name"') ? !/^\{"instance": "[a-z0-9]{1,16}-[0-9a-f]{13}"\}$/.test(got) : got !== expected) {
      stats.mismatches.push(`${line} → ${got.slice(0, 160)} (expected ${expected.slice(0, 160)})`);
      return false;
    }
    return true;
  };
  try {
    if (!(await ask(CPP.make('CartPole-v1')))) return;
    const firstSeed = options.firstSeed ?? 1000;
    for (let episode = 0; running() && episode < (options.maxEpisodes ?? Infinity); episode++) {
      if (!(await ask(CPP.seed(firstSeed + episode))) || !(await ask(CPP.reset)) || !(await ask(CPP.sample))) return;
      for (let t = 0; t < 500 && running(); t++) {
        // A fixed policy: both sides follow the same trajectory, and episodes end by themselves.
        if (!(await ask(CPP.step((episode + t * 7) % 3 === 0 ? '0' : '1')))) return;
        stats.steps += 1;
        if (lastReply.includes('"done": true')) {
          stats.episodes += 1;
          break;
        }
      }
    }
  } catch (err) {
    stats.mismatches.push((err as Error).message);
  } finally {
    await conn.end();
  }
}

/** Plays one full seeded CartPole episode on a fresh connection and checks every reply against the reference. */
export async function cleanEpisode(port: number, host = '127.0.0.1', seed = 42): Promise<BystanderStats> {
  const stats: BystanderStats = { steps: 0, episodes: 0, mismatches: [], maxLatencyMs: 0 };
  await bystander(port, host, stats, () => true, { maxEpisodes: 1, firstSeed: seed });
  return stats;
}
