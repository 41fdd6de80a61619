/**
 * The ceiling: a `net` server that answers every line with a fixed CartPole-sized step reply and does
 * no other work (docs/performance.md, "How the bench measures"). gym-tcp cannot beat it; the benchmark reports gym-tcp as a share of it.
 */
import net from 'node:net';

const REPLY = Buffer.from(
  '{"observation": [0.013303974643349648, 0.23443734645843506, 0.027018982917070389, -0.31142377853393555], ' +
    '"reward": 1.0, "done": false, "info": {}, "terminated": false, "truncated": false}\r\n\r\n',
);

/**
 * The load generator's TS client checks each reply's shape, so a make (`{"env":{"name":…}}`, once per
 * connection) gets an instance; every other line the step reply (which also passes for a reset's).
 */
const INSTANCE = Buffer.from('{"instance": "0123456789abc"}\r\n\r\n');
const isMake = (chunk: Buffer, start: number) => chunk[start + 2] === 0x65 /* e of env */ && chunk[start + 9] === 0x6e; /* n of name */

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk: Buffer) => {
    for (let start = 0, i = chunk.indexOf(10); i !== -1; start = i + 1, i = chunk.indexOf(10, start)) {
      socket.write(isMake(chunk, start) ? INSTANCE : REPLY);
    }
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}`);
});
