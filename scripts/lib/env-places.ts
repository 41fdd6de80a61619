/** Counting the environments a server holds from outside its process (for the leak and soak checks). */
import { CPP } from '../../src/protocol/messages.js';
import { ReplySocket, decodeReply, errorOf } from './reply-socket.js';

/**
 * Environments held by a server cannot be read from outside its process; but with a known
 * --max-envs, filling every place shows how many are taken. Opens `places` connections, makes an env
 * on each, and counts the makes that succeed (all of them when nothing leaked), then closes them.
 */
export async function probeEnvPlaces(port: number, host: string, places: number): Promise<{ free: number; refused: number; other: number }> {
  const conns: ReplySocket[] = [];
  const result = { free: 0, refused: 0, other: 0 };
  try {
    for (let i = 0; i < places; i++) {
      const c = await ReplySocket.connect(port, host);
      conns.push(c);
      c.write(CPP.make('CartPole-v1') + '\r\n');
    }
    for (const c of conns) {
      const raw = await c.next(30_000);
      const error = typeof raw === 'string' ? { code: raw } : errorOf(decodeReply(raw).value);
      if (!error) result.free += 1;
      else if (error.code === 'TOO_MANY_ENVS') result.refused += 1;
      else result.other += 1;
    }
  } finally {
    await Promise.all(conns.map((c) => c.end()));
  }
  return result;
}
