/**
 * The server's log: structured events with pino (the fastest structured logger for Node, JSON lines
 * that any log pipeline reads). Each event has `level`, `time` (epoch ms), `node` (--node-id, the
 * prefix of the node's instance ids), `event` (a stable name to search and alert on, like an error
 * code), `msg` (the sentence an operator reads) and the event's fields: `conn` (the TCP connection's
 * id), `instance` (an env instance id), `code` (a protocol error code or a system error code),
 * `worker` (a worker slot), `remote` (a peer address), `front`.
 *
 * The fronts and the pool know nothing of pino: they call a `Log` function (message, fields), which
 * the CLI makes from its logger here; a program embedding the server passes any function it likes.
 *
 * The auth token never appears: no event carries it, and fields named like one are censored anyway,
 * should a future event add one by mistake (test/log.test.ts checks a real server's output).
 *
 * `--log-format pretty` is a small formatter here rather than pino-pretty: that one brings a dozen
 * packages (and a transport thread) into the image for a format only a person at a terminal reads.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'json' | 'pretty';

/** What an event says besides its message: its name, and the ids and codes it concerns. */
export interface LogFields {
  /** The event's stable name (WORKER_LOST, CONNECTIONS_REFUSED, LISTENING, …). */
  event: string;
  /** Default `warn`: most events of the fronts are things an operator should see. */
  level?: Exclude<LogLevel, 'silent'>;
  conn?: number;
  instance?: string | null;
  code?: string | null;
  worker?: number;
  remote?: string;
  front?: string;
  [field: string]: unknown;
}

/** Where the fronts and the pool say what happens: a message, and its fields (a plain message without). */
export type Log = (message: string, fields?: LogFields) => void;

/** Field names censored wherever they appear (two levels deep): the token, under any name it might get. */
const SECRET_PATHS = ['token', 'authToken', 'auth', 'password', 'authorization', '*.token', '*.authToken', '*.auth', '*.password', '*.authorization'];

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  node: string;
  /** Default: stdout. */
  destination?: DestinationStream;
}

/** The CLI's logger. */
export function createLogger({ level, format, node, destination }: LoggerOptions): Logger {
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level,
      base: { node },
      // Level names rather than numbers: `"level":"warn"` reads the same in any log pipeline.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
    },
    format === 'pretty' ? prettyStream(out) : out,
  );
}

/** A `Log` over a pino logger: the event's level (default warn), its fields, its message. */
export function eventLog(logger: Logger): Log {
  return (message, fields) => {
    const { level = 'warn', ...rest } = fields ?? { event: 'MESSAGE' };
    logger[level](rest, message);
  };
}

const PRETTY_SKIP = new Set(['level', 'time', 'node', 'msg', 'event']);

/** JSON lines made readable: `12:00:00.000 WARN  n1 WORKER_LOST worker thread 0 stopped… worker=0`. */
function prettyStream(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const e = JSON.parse(line) as Record<string, unknown>;
      const time = new Date(e.time as number).toISOString().slice(11, 23);
      const fields = Object.entries(e)
        .filter(([key]) => !PRETTY_SKIP.has(key))
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
      const head = [time, String(e.level).toUpperCase().padEnd(5), e.node, e.event ?? '-', e.msg].join(' ');
      out.write(`${[head, ...fields].join(' ')}\n`);
    },
  };
}
