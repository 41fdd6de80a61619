/**
 * The TypeScript client's reply framing. Over plain TCP it reads into one buffer of its own, reused
 * for every read: a reply cut between two reads must survive the next read overwriting that buffer.
 * The peer here is a bare `net` server that sends known replies cut at chosen byte positions.
 */
import net from 'node:net';
import { deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { GymClient } from '../src/client/client.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A peer that answers the n-th request line with `replies[n]` (framed), sent in pieces of the given sizes, a tick apart. */
async function peer(replies: Buffer[], pieceSizes: number[]): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    let answered = 0;
    socket.on('data', async (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) {
        const framed = Buffer.concat([replies[answered++], Buffer.from('\r\n\r\n')]);
        for (let at = 0, k = 0; at < framed.length; k++) {
          const size = pieceSizes[k % pieceSizes.length];
          socket.write(framed.subarray(at, at + size));
          at += size;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('GymClient framing', () => {
  it('puts together replies cut at any byte, including one much larger than a read', async () => {
    const big = { observation: Array.from({ length: 30_000 }, (_, i) => i / 7) };
    const replies = [
      { observation: [0.1, -0.2, 0.3, -0.4], reward: 1.0, done: false },
      big,
      { instance: 'abc123' },
      { observation: 3, reward: 0.0, done: true },
    ];
    const port = await peer(
      replies.map((r) => Buffer.from(JSON.stringify(r))),
      [1, 7, 3, 40_000, 2],
    );
    const client = await GymClient.connect(port);
    for (const expected of replies) expect(await client.requestLine('{"step": {"action": 0}}')).toEqual(expected);
    await client.end();
  });

  it('puts together a compressed reply cut between reads, and pipelined replies that share a read', async () => {
    const replies = [deflateSync(Buffer.from('{"observation": [1, 2], "done": false}'), { level: 9 }), Buffer.from('{"a": 1}'), Buffer.from('{"b": 2}')];
    const port = await peer(replies, [5, 3, 100]);
    const client = await GymClient.connect(port);
    const answers = await Promise.all([client.requestLine('{"x": 1}'), client.requestLine('{"x": 2}'), client.requestLine('{"x": 3}')]);
    expect(answers).toEqual([{ observation: [1, 2], done: false }, { a: 1 }, { b: 2 }]);
    await client.end();
  });
});
