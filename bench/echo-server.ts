/**
 * The ceiling: a `net` server that answers every line with a fixed CartPole-sized step reply and does
 * no other work (docs/performance.md, "How the bench measures"). gym-tcp cannot beat it; the benchmark reports gym-tcp as a share of it.
 */
import net from 'node:net';

const REPLY = Buffer.from(
  '{"observation": [0.013303974643349648, 0.23443734645843506, 0.027018982917070389, -0.31142377853393555], ' +
    '"reward": 1.0, "done": false, "info": {}, "terminated": false, "truncated": false}\r\n\r\n',
);

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) socket.write(REPLY);
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}`);
});
