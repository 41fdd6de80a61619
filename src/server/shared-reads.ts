import net from 'node:net';

/** Every adopted socket reads into this one buffer: a read's bytes are handled before the next read lands. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * Remakes a plain TCP socket accepted by a `pauseOnConnect` server so that it reads into one buffer
 * shared by all connections (Node's `onread` option) instead of a new buffer per read. On the main
 * thread that allocation (a 64 KiB buffer, shrunk, wrapped, swept by the GC) costs more than handing
 * the line to a worker. net.Server has no such option, so the accepted socket's handle moves into a
 * socket made with `onread`, the way net.Server itself makes sockets from handles.
 *
 * `onChunk` gets each read's bytes and must not keep them: the next read overwrites them. Where the
 * handle cannot be moved (a Node whose sockets are built otherwise), the accepted socket itself is
 * returned and reads chunk by chunk as usual. `adopted` tells which.
 */
export function adoptWithSharedReads(accepted: net.Socket, onChunk: (chunk: Buffer) => void): { socket: net.Socket; adopted: boolean } {
  const internals = accepted as unknown as { _handle?: object | null };
  const handle = internals._handle;
  if (!handle) {
    accepted.on('data', onChunk);
    accepted.resume();
    return { socket: accepted, adopted: false };
  }
  internals._handle = null;
  const socket = new net.Socket({
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    onread: { buffer: READ_BUFFER, callback: (length: number) => (onChunk(READ_BUFFER.subarray(0, length)), true) },
  } as net.SocketConstructorOpts);
  // The husk stays counted among the server's connections until the socket that took its handle closes.
  socket.once('close', () => accepted.destroy());
  return { socket, adopted: true };
}
