/**
 * The fuzzer's connections against a running server: checked connections whose every reply is
 * compared with the oracle in order (each batch ending in a marker whose echo shows a missing or
 * extra reply at once), connections that disconnect abruptly, and lines over the limit; with a
 * bystander playing CartPole throughout. runFuzz runs them, summarizeFuzz prints the figures.
 */
import { CPP } from '../../src/protocol/messages.js';
import { bystander, type BystanderStats } from './bystander.js';
import { fmt } from './format.js';
import { ENV_IDS, generateLine, terminator } from './fuzz-gen.js';
import { ConnectionModel, applySilent, checkReply, expectationFor, splitLines, type Expectation } from './oracle.js';
import { ReplySocket } from './reply-socket.js';
import { Rng } from './rng.js';
import { sleep, within } from './wait.js';

export interface FuzzOptions {
  port: number;
  host?: string;
  seconds: number;
  seed: number;
  /** Fuzzing connections at once (the bystander comes on top). */
  connections: number;
  /** The server's --max-line-bytes: lines stay under it, except on purpose. */
  maxLineBytes: number;
  replyTimeoutMs?: number;
  /** Play CartPole on one more connection throughout and check every reply against a local reference. */
  bystander?: boolean;
  progressEveryMs?: number;
  onProgress?: (stats: FuzzStats, elapsedMs: number) => void;
}

export interface FuzzProblem {
  lane: number;
  line: string;
  problem: string;
}

export interface FuzzStats {
  seed: number;
  /** Complete lines sent on checked connections, and what became of them. */
  linesSent: number;
  linesExpectingReply: number;
  replies: number;
  okReplies: number;
  silentSucceeded: number;
  errorsByCode: Record<string, number>;
  /** Lines that expected a reply and got none (the connection closed or went quiet): must be 0. */
  unanswered: number;
  /** Replies that were not what the oracle expected (wrong code, out of order, bad framing): must be none. */
  problems: FuzzProblem[];
  /** ENV_FAILED replies (an exception the server did not classify), with the line that caused it. */
  envFailed: FuzzProblem[];
  /** Lines sent on connections that were then cut without reading (not checked). */
  uncheckedLines: number;
  bytesSent: number;
  connections: { checked: number; abrupt: number; midLine: number; lineTooLong: number; failedToConnect: number };
  bystander: BystanderStats;
}

function newStats(seed: number): FuzzStats {
  return {
    seed,
    linesSent: 0,
    linesExpectingReply: 0,
    replies: 0,
    okReplies: 0,
    silentSucceeded: 0,
    errorsByCode: {},
    unanswered: 0,
    problems: [],
    envFailed: [],
    uncheckedLines: 0,
    bytesSent: 0,
    connections: { checked: 0, abrupt: 0, midLine: 0, lineTooLong: 0, failedToConnect: 0 },
    bystander: { steps: 0, episodes: 0, mismatches: [], maxLatencyMs: 0 },
  };
}

const preview = (line: Buffer) => {
  const text = JSON.stringify(line.subarray(0, 100).toString('latin1'));
  return line.length > 100 ? `${text}… (${line.length} bytes)` : text;
};

/** Writes bytes whole, in random pieces (split anywhere, also inside UTF-8 sequences), or byte by byte. */
async function writeSplit(conn: ReplySocket, data: Buffer, rng: Rng): Promise<void> {
  const mode = rng.next();
  if (mode < 0.5 || data.length < 2) {
    conn.write(data);
    return;
  }
  if (mode < 0.97 || data.length > 300) {
    const cuts = new Set<number>();
    for (let i = rng.range(1, 10); i > 0; i--) cuts.add(1 + rng.int(data.length - 1));
    let start = 0;
    for (const cut of [...cuts].sort((a, b) => a - b).concat(data.length)) {
      conn.write(data.subarray(start, cut));
      start = cut;
      if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
      else if (rng.chance(0.2)) await sleep(rng.int(3));
    }
    return;
  }
  for (let i = 0; i < data.length; i++) {
    conn.write(data.subarray(i, i + 1));
    if (rng.chance(0.3)) await new Promise((r) => setImmediate(r));
  }
}

interface Lane {
  index: number;
  rng: Rng;
  stats: FuzzStats;
  options: Required<Pick<FuzzOptions, 'port' | 'host' | 'maxLineBytes' | 'replyTimeoutMs'>>;
  markers: number;
}

/**
 * Sends lines, then reads the replies in lock step with the oracle. Returns false when the
 * connection cannot go on (a problem was recorded, or it closed).
 */
async function sendAndCheck(lane: Lane, conn: ReplySocket, model: ConnectionModel, lines: Buffer[], tail: Buffer, rng: Rng): Promise<boolean> {
  const { stats } = lane;
  const stream = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from(terminator(rng))]), tail]);
  const { lines: seen } = splitLines(stream);
  stats.bytesSent += stream.length;
  const writing = writeSplit(conn, stream, rng);
  for (let i = 0; i < seen.length; i++) {
    const line = seen[i];
    if (line.length > lane.options.maxLineBytes) throw new Error(`the fuzzer made a line over the limit (${line.length} bytes)`);
    stats.linesSent += 1;
    const expect = expectationFor(line, model);
    if (expect.type === 'silent') {
      applySilent(expect.request, model);
      stats.silentSucceeded += 1;
      continue;
    }
    stats.linesExpectingReply += 1;
    const raw = await conn.next(lane.options.replyTimeoutMs);
    if (raw === 'closed' || raw === 'timeout') {
      const left = seen.slice(i).filter((l) => expectationFor(l, model).type !== 'silent').length;
      stats.unanswered += left;
      stats.problems.push({ lane: lane.index, line: preview(line), problem: `no reply (${raw}); ${left} line(s) unanswered` });
      await writing;
      return false;
    }
    stats.replies += 1;
    const markerMatch = /^\{"env":\{"name": "(Marker-[0-9-]+)"\}\}$/.exec(line.toString('latin1'));
    const checked = checkReply(expect, raw, model, markerMatch?.[1]);
    if (checked.code) stats.errorsByCode[checked.code] = (stats.errorsByCode[checked.code] ?? 0) + 1;
    else stats.okReplies += 1;
    if (checked.code === 'ENV_FAILED' && stats.envFailed.length < 20) stats.envFailed.push({ lane: lane.index, line: preview(line), problem: checked.message ?? '' });
    if (checked.problem) {
      stats.problems.push({ lane: lane.index, line: preview(line), problem: checked.problem });
      await writing;
      return false;
    }
  }
  await writing;
  return true;
}

function marker(lane: Lane): Buffer {
  return Buffer.from(CPP.make(`Marker-${lane.index}-${lane.markers++}`));
}

function batch(lane: Lane): Buffer[] {
  const { rng } = lane;
  const lines: Buffer[] = [];
  const limit = lane.options.maxLineBytes - 16;
  if (rng.chance(0.05)) {
    // A burst: many valid requests in one write.
    lines.push(Buffer.from(CPP.make('CartPole-v1')), Buffer.from(CPP.reset));
    for (let i = rng.range(100, 600); i > 0; i--) lines.push(Buffer.from(rng.chance(0.9) ? CPP.step(String(rng.int(2))) : rng.chance(0.5) ? CPP.reset : CPP.sample));
  } else {
    for (let i = rng.range(1, 40); i > 0; i--) lines.push(generateLine(rng, limit));
  }
  lines.push(marker(lane));
  return lines;
}

/** A new connection of one kind, counted as such; null (counted as a failure to connect) when refused. */
async function connectLane(lane: Lane, kind: 'checked' | 'abrupt' | 'lineTooLong'): Promise<ReplySocket | null> {
  const conn = await ReplySocket.connect(lane.options.port, lane.options.host).catch(() => null);
  lane.stats.connections[conn ? kind : 'failedToConnect'] += 1;
  return conn;
}

/** A connection whose every reply is checked; it ends cleanly, or abruptly in the middle of a line. */
async function checkedConnection(lane: Lane, deadline: number): Promise<void> {
  const { rng, stats } = lane;
  const conn = await connectLane(lane, 'checked');
  if (!conn) return;
  const model = new ConnectionModel();
  let ok = true;
  for (let b = rng.range(1, 8); b > 0 && ok && Date.now() < deadline; b--) ok = await sendAndCheck(lane, conn, model, batch(lane), Buffer.alloc(0), rng);
  if (!ok) {
    conn.destroy();
    return;
  }
  if (rng.chance(0.3)) {
    // Abrupt disconnect in the middle of a line (possibly inside a UTF-8 sequence).
    stats.connections.midLine += 1;
    const partial = Buffer.from(generateLine(rng, lane.options.maxLineBytes - 16).map((b) => (b === 10 ? 32 : b)));
    conn.write(partial.subarray(0, 1 + rng.int(partial.length)));
    if (rng.chance(0.5)) await new Promise((r) => setImmediate(r));
    conn.destroy(rng.chance(0.5));
    return;
  }
  await conn.end();
  if (conn.queued > 0 || conn.partial > 0) {
    stats.problems.push({ lane: lane.index, line: '(end of connection)', problem: `${conn.queued} unexpected extra repl(ies) and ${conn.partial} stray bytes after the last expected reply` });
  }
}

/** A connection that sends lines (and half a line) and disconnects without reading: not checked, only survived. */
async function abruptConnection(lane: Lane): Promise<void> {
  const { rng, stats } = lane;
  const conn = await connectLane(lane, 'abrupt');
  if (!conn) return;
  const lines: Buffer[] = rng.chance(0.5) ? [Buffer.from(CPP.make(rng.pick(ENV_IDS))), Buffer.from(CPP.reset)] : [];
  for (let i = rng.range(0, 30); i > 0; i--) lines.push(rng.chance(0.5) ? Buffer.from(CPP.step(String(rng.int(2)))) : generateLine(rng, lane.options.maxLineBytes - 16));
  const data = Buffer.concat([...lines.flatMap((l) => [l, Buffer.from('\r\n')]), generateLine(rng, 200)]);
  stats.uncheckedLines += lines.length;
  stats.bytesSent += data.length;
  conn.write(data);
  const wait = rng.next();
  if (wait < 0.3) {
    // same tick
  } else if (wait < 0.6) await new Promise((r) => setImmediate(r));
  else await sleep(rng.int(30));
  conn.destroy(rng.chance(0.5));
}

/** A connection that sends a line over the limit: earlier lines answered, then LINE_TOO_LONG, then the server closes. */
async function tooLongConnection(lane: Lane): Promise<void> {
  const { rng, stats } = lane;
  const conn = await connectLane(lane, 'lineTooLong');
  if (!conn) return;
  const model = new ConnectionModel();
  if (!(await sendAndCheck(lane, conn, model, batch(lane), Buffer.alloc(0), rng))) {
    conn.destroy();
    return;
  }
  const size = lane.options.maxLineBytes + rng.range(2, 5000);
  const long = Buffer.alloc(size, rng.pick(['x', ' ', '[', '7']));
  // Sometimes with a newline and more requests after it: those must not be answered.
  const after = rng.chance(0.5) ? Buffer.from('\r\n' + (CPP.url + '\r\n').repeat(3)) : Buffer.alloc(0);
  stats.bytesSent += long.length + after.length;
  conn.write(Buffer.concat([long, after]));
  const raw = await conn.next(lane.options.replyTimeoutMs);
  if (raw === 'closed' || raw === 'timeout') {
    stats.linesSent += 1;
    stats.linesExpectingReply += 1;
    stats.unanswered += 1;
    stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: `no LINE_TOO_LONG reply (${raw})` });
    conn.destroy();
    return;
  }
  stats.linesSent += 1;
  stats.linesExpectingReply += 1;
  stats.replies += 1;
  const checked = checkReply({ type: 'error', code: 'LINE_TOO_LONG' }, raw, model);
  if (checked.code) stats.errorsByCode[checked.code] = (stats.errorsByCode[checked.code] ?? 0) + 1;
  if (checked.problem) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: checked.problem });
  await within(conn.closed, lane.options.replyTimeoutMs);
  if (!conn.isClosed) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: 'the server did not close the connection after LINE_TOO_LONG' });
  else if (conn.queued > 0) stats.problems.push({ lane: lane.index, line: `(${size}-byte line)`, problem: `${conn.queued} repl(ies) after LINE_TOO_LONG` });
  conn.destroy();
}

async function runLane(lane: Lane, deadline: number, stop: () => boolean): Promise<void> {
  while (Date.now() < deadline && !stop()) {
    const r = lane.rng.next();
    if (r < 0.72) await checkedConnection(lane, deadline);
    else if (r < 0.95) await abruptConnection(lane);
    else await tooLongConnection(lane);
  }
}

/** Runs the fuzzer against a server; resolves when every connection has finished. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const stats = newStats(options.seed);
  const host = options.host ?? '127.0.0.1';
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  let stopped = false;
  const laneOptions = { port: options.port, host, maxLineBytes: options.maxLineBytes, replyTimeoutMs: options.replyTimeoutMs ?? 10_000 };
  const lanes = Array.from({ length: options.connections }, (_, index): Lane => ({ index, rng: new Rng(options.seed, index + 1), stats, options: laneOptions, markers: 0 }));
  const progress = options.onProgress
    ? setInterval(() => options.onProgress!(stats, Date.now() - started), options.progressEveryMs ?? 5000)
    : null;
  let lanesRunning = lanes.length;
  const bystanderDone = options.bystander
    ? bystander(options.port, host, stats.bystander, () => lanesRunning > 0 && !stopped, { replyTimeoutMs: laneOptions.replyTimeoutMs })
    : Promise.resolve();
  try {
    await Promise.all(
      lanes.map((lane) =>
        runLane(lane, deadline, () => stopped || stats.problems.length > 50).finally(() => {
          lanesRunning -= 1;
        }),
      ),
    );
  } finally {
    stopped = true;
    await bystanderDone;
    if (progress) clearInterval(progress);
  }
  return stats;
}

export function summarizeFuzz(stats: FuzzStats): string {
  const codes = Object.entries(stats.errorsByCode).sort((a, b) => b[1] - a[1]);
  const lines = [
    `seed ${stats.seed}`,
    `lines sent on checked connections ${fmt(stats.linesSent)}: ${fmt(stats.linesExpectingReply)} expecting a reply, ${fmt(stats.silentSucceeded)} silent and successful`,
    `replies ${fmt(stats.replies)} (${fmt(stats.okReplies)} ok, ${fmt(stats.replies - stats.okReplies)} errors); unanswered lines ${stats.unanswered} (must be 0); problems ${stats.problems.length} (must be 0)`,
    `connections: ${stats.connections.checked} checked (${stats.connections.midLine} cut mid-line at the end), ${stats.connections.abrupt} abrupt (${fmt(stats.uncheckedLines)} lines unchecked), ${stats.connections.lineTooLong} over the line limit, ${stats.connections.failedToConnect} failed to connect`,
    `bytes sent ${fmt(stats.bytesSent)}`,
    `bystander: ${fmt(stats.bystander.steps)} steps, ${stats.bystander.episodes} episodes, ${stats.bystander.mismatches.length} mismatches, max latency ${stats.bystander.maxLatencyMs.toFixed(1)} ms`,
    'errors by code:',
    ...codes.map(([code, n]) => `  ${code.padEnd(20)} ${fmt(n)}`),
  ];
  if (stats.envFailed.length) lines.push('ENV_FAILED replies (an exception the server did not classify):', ...stats.envFailed.slice(0, 5).map((p) => `  ${p.line} → ${p.problem}`));
  if (stats.problems.length) lines.push('PROBLEMS:', ...stats.problems.slice(0, 20).map((p) => `  [lane ${p.lane}] ${p.line}: ${p.problem}`));
  if (stats.bystander.mismatches.length) lines.push('BYSTANDER MISMATCHES:', ...stats.bystander.mismatches.slice(0, 5).map((m) => '  ' + m));
  return lines.join('\n');
}
