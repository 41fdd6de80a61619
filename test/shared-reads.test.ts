/**
 * A plain TCP socket remade to read into the shared buffer (src/server/shared-reads.ts): on this Node
 * the handle does move (else the server silently reads the slow way), bytes and half-close arrive,
 * backpressure pauses reading, and the server counts the connection until it closes.
 */
import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { adoptWithSharedReads } from '../src/server/shared-reads.js';

describe('adoptWithSharedReads', () => {
  it('moves the handle: bytes, pause/resume, half-close and the connection count all work', async () => {
    const received: string[] = [];
    let adopted: { socket: net.Socket; adopted: boolean } | null = null;
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
      adopted = adoptWithSharedReads(accepted, (chunk) => received.push(chunk.toString()));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    client.write('hello ');
    await expect.poll(() => received.join('')).toBe('hello ');
    const { socket, adopted: moved } = adopted!;
    expect(moved).toBe(true);

    // Paused, nothing is read; resumed, what waited arrives.
    socket.pause();
    client.write('world');
    await new Promise((r) => setTimeout(r, 50));
    expect(received.join('')).toBe('hello ');
    socket.resume();
    await expect.poll(() => received.join('')).toBe('hello world');

    // The peer half-closes: 'end' comes, and the socket can still answer.
    const ended = once(socket, 'end');
    const closed = once(socket, 'close');
    client.end();
    await ended;
    socket.end('bye');
    const [reply] = await Promise.all([new Promise<string>((resolve) => client.on('data', (d) => resolve(String(d)))), once(client, 'close')]);
    expect(reply).toBe('bye');

    await closed;
    await expect.poll(() => new Promise((resolve) => server.getConnections((_err, n) => resolve(n)))).toBe(0);
    server.close();
  });
});
