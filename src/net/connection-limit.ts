/**
 * The connections both fronts hold, counted once: every accepted socket of the TCP port and of the
 * REST port, from the moment it is accepted (before a TLS handshake) until it closes, against
 * `--max-connections` and `--max-connections-per-address`.
 *
 * Why both fronts and from accept: HTTP connections were not counted at all (1,500 idle keep-alive
 * connections from one address were all held, and once the process ran out of file descriptors TCP
 * clients were reset with nothing logged), and a TLS client was counted only once its handshake had
 * ended (400 half-open handshakes from one address were held for Node's 120 s handshake timeout).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type net from 'node:net';
import type { Log, LogFields } from '../ops/log.js';

/** Why a connection was refused: the server's limit or one address's. */
export type ConnectionRefusal = { limit: 'server' | 'address'; message: string };

/**
 * Sockets being refused (their refusal written, waiting for the peer to read it and close) may hold
 * this many file descriptors together; past it a refused socket is closed at once, without a reply,
 * so that a flood of refused connections cannot use up the descriptors that the counted ones need.
 */
const MAX_REFUSING = 64;

/**
 * File descriptors kept free beyond the counted connections: the refusals above, the REST listener,
 * monitor files being written, and what Node and the worker threads open on their own.
 */
const SPARE_DESCRIPTORS = MAX_REFUSING + 64;

/**
 * The process's file-descriptor limit (RLIMIT_NOFILE's soft limit, which Node raises to the hard one
 * at start) and the descriptors open now, from /proc (Node has no getrlimit); null off Linux.
 */
export function fileDescriptors(): { limit: number; open: number } | null {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!line || line[1] === 'unlimited') return null;
    return { limit: Number(line[1]), open: readdirSync('/proc/self/fd').length };
  } catch {
    return null;
  }
}

/** Says something the first time it happens, then once more when a burst of it ends, with the count. */
class BurstLog {
  #quietTimer: NodeJS.Timeout | null = null;
  #more = 0;

  constructor(
    readonly log: Log,
    /** A burst ends after this long without another occurrence. */
    readonly quietMs = 10_000,
  ) {}

  note(first: () => string, ended: (more: number) => string, fields: LogFields): void {
    if (this.#quietTimer) {
      this.#more += 1;
      this.#quietTimer.refresh();
      return;
    }
    this.log(first(), fields);
    this.#quietTimer = setTimeout(() => {
      this.#quietTimer = null;
      if (this.#more > 0) this.log(ended(this.#more), { ...fields, more: this.#more });
      this.#more = 0;
    }, this.quietMs);
    this.#quietTimer.unref();
  }
}

export class ConnectionLimit {
  /** Connections the server takes: --max-connections, or less where the file-descriptor limit says so. */
  readonly maxConnections: number;
  #open = 0;
  /** Connections open now by the front that accepted them (guard's `front`), for the metrics. */
  readonly openByFront = new Map<string, number>();
  readonly #perAddress = new Map<string, number>();
  #refusing = 0;
  readonly #log: Log;
  readonly #refusals: BurstLog;
  readonly #acceptFailures: BurstLog;

  /**
   * `descriptors`: the process's file-descriptor limit and those open now (`fileDescriptors()`); when
   * --max-connections does not fit in what is left, the server says so and takes only what fits, so
   * that clients past it are refused with a reply instead of being reset by the kernel.
   */
  constructor(
    readonly requestedMaxConnections: number,
    readonly maxConnectionsPerAddress: number,
    log: Log = () => {},
    descriptors: { limit: number; open: number } | null = null,
  ) {
    this.#log = log;
    this.#refusals = new BurstLog(log);
    this.#acceptFailures = new BurstLog(log);
    const fits = descriptors ? Math.max(1, descriptors.limit - descriptors.open - SPARE_DESCRIPTORS) : Infinity;
    this.maxConnections = Math.min(requestedMaxConnections, fits);
    if (descriptors && fits < requestedMaxConnections) {
      log(
        `--max-connections ${requestedMaxConnections} does not fit in this process's file-descriptor limit ` +
          `(${descriptors.limit}, RLIMIT_NOFILE; ${descriptors.open} in use at start, ${SPARE_DESCRIPTORS} kept spare): ` +
          `taking at most ${this.maxConnections} connections over TCP and REST together. Raise the limit (ulimit -n, ` +
          `systemd's LimitNOFILE=, docker run --ulimit nofile=…) or lower --max-connections`,
        { event: 'FD_LIMIT', limit: descriptors.limit, maxConnections: this.maxConnections },
      );
    }
  }

  /** Connections counted now, over both fronts. */
  get open(): number {
    return this.#open;
  }

  /** Counts a connection from `address`, or says why it cannot be taken (nothing counted then). */
  take(address: string): ConnectionRefusal | null {
    const fromAddress = this.#perAddress.get(address) ?? 0;
    let refusal: ConnectionRefusal | null = null;
    if (this.#open >= this.maxConnections) {
      const capped = this.maxConnections < this.requestedMaxConnections ? ', less than --max-connections: see its log at start' : ' (--max-connections)';
      refusal = { limit: 'server', message: `the server allows ${this.maxConnections} connections${capped}; try again later` };
    } else if (fromAddress >= this.maxConnectionsPerAddress) {
      refusal = {
        limit: 'address',
        message: `the server allows ${this.maxConnectionsPerAddress} connections from one address (--max-connections-per-address); try again later`,
      };
    }
    if (refusal) {
      const said = refusal.message;
      this.#refusals.note(
        () => `refusing connections: ${said.replace(/; try again later$/, '')} (${address}; said once per burst)`,
        (more) => `refused ${more} more connections in that burst`,
        { event: 'CONNECTIONS_REFUSED', code: 'TOO_MANY_CONNECTIONS', limit: refusal.limit, remote: address },
      );
      return refusal;
    }
    this.#open += 1;
    this.#perAddress.set(address, fromAddress + 1);
    return null;
  }

  give(address: string): void {
    this.#open -= 1;
    const left = (this.#perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#perAddress.set(address, left);
    else this.#perAddress.delete(address);
  }

  /**
   * Makes `server` count each socket it accepts before anything else sees it: Node's own 'connection'
   * listeners (the HTTP parser, the TLS handshake, the TCP front's accept) run only for a socket that
   * is taken, and the count is given back when that socket closes. A socket that is not taken goes to
   * `refuse` with the message (which writes a reply the front's clients read, or, before a TLS
   * handshake, can only close it). Call it once the server is made, before it listens.
   *
   * It also keeps the server alive when accept itself fails (EMFILE, ENFILE: out of file
   * descriptors): a net.Server reports that as an 'error' event, which with no listener would stop
   * the process; here it is logged once per burst and the server goes on listening.
   */
  guard(server: net.Server, front: string, refuse: (socket: net.Socket, refusal: ConnectionRefusal) => void): void {
    const accept = server.listeners('connection') as ((socket: net.Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => {
      const address = socket.remoteAddress ?? '';
      const refusal = this.take(address);
      if (refusal === null) {
        this.openByFront.set(front, (this.openByFront.get(front) ?? 0) + 1);
        socket.once('close', () => {
          this.give(address);
          this.openByFront.set(front, this.openByFront.get(front)! - 1);
        });
        for (const listener of accept) listener.call(server, socket);
        return;
      }
      socket.on('error', () => {});
      if (this.#refusing >= MAX_REFUSING) {
        socket.destroy();
        return;
      }
      this.#refusing += 1;
      socket.once('close', () => (this.#refusing -= 1));
      // A peer that never reads its refusal nor closes does not hold the descriptor for long.
      setTimeout(() => socket.destroy(), 5000).unref();
      refuse(socket, refusal);
    });
    server.on('error', (err: NodeJS.ErrnoException) => {
      // Before it listens, errors are the bind's, which listen() reports to its caller.
      if (!server.listening) return;
      this.#acceptFailures.note(
        () =>
          `${front}: cannot accept connections (${err.code}: ${err.message}); clients are refused by the kernel until descriptors are free. ` +
          `Raise the file-descriptor limit or lower --max-connections (said once per burst)`,
        (more) => `${front}: accept failed ${more} more times in that burst`,
        { event: 'ACCEPT_FAILED', level: 'error', code: err.code ?? null, front },
      );
    });
  }
}
