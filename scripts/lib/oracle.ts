/**
 * The fuzzer's oracle, written independently of the server's code paths it checks: how bytes split
 * into lines, what each line must get (no reply, an error with a known code, or a reply of its kind),
 * whether a reply is that, and a reference session in this process whose replies a deterministic
 * script must get byte for byte.
 */
import { loadEnvSpecs, makeEnv } from '../../src/envs/registry.js';
import { z } from 'zod';
import { ERROR_CODES, ProtocolError } from '../../src/protocol/errors.js';
import { replySchemas } from '../../src/protocol/messages.js';
import { parseRequest } from '../../src/protocol/request.js';
import type { Request } from '../../src/protocol/schema.js';
import { errorReplyFor, Session } from '../../src/protocol/session.js';
import { decodeReply, errorOf } from './reply-socket.js';

// The oracle and the reference sessions run envs in this process: their code must be loaded first
// (the registry loads each family on first use; an env worker waits for it the same way).
await loadEnvSpecs();

/**
 * Splits bytes into lines as the protocol defines them (LF ends a line, one CR before it is part of
 * the terminator) — written independently of the server's LineReceiver, as an oracle.
 */
export function splitLines(stream: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = stream.indexOf(10); nl !== -1; nl = stream.indexOf(10, start)) {
    const end = nl > start && stream[nl - 1] === 13 ? nl - 1 : nl;
    lines.push(stream.subarray(start, end));
    start = nl + 1;
  }
  return { lines, rest: stream.subarray(start) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** What the server must answer to one line, given what the connection holds. */
export type Expectation =
  /** A silent request that succeeds: no reply. */
  | { type: 'silent'; request: Request }
  /** An error reply; `code` null when any code will do (the line made the parser itself fail). */
  | { type: 'error'; code: string | null }
  /** A request that gets a reply whose form depends on the connection's state (checked on arrival). */
  | { type: 'reply'; request: Request };

/** The little a client must track to know what comes back: does the connection hold an env, and compression. */
export class ConnectionModel {
  hasEnv = false;
  everHadEnv = false;
  compression = 0;
}

/** Classifies one line as the server will see it; pure (the model is updated by `checkReply` and `applySilent`). */
export function expectationFor(line: Buffer, model: ConnectionModel): Expectation {
  if (!isUtf8(line)) return { type: 'error', code: 'BAD_ENCODING' };
  let request: Request;
  try {
    request = parseRequest(line.toString('utf8'));
  } catch (err) {
    // A ProtocolError names its code; anything else (a stack overflow on deep input) may go either way
    // in a worker, whose stack differs from ours.
    return { type: 'error', code: err instanceof ProtocolError ? err.code : null };
  }
  switch (request.kind) {
    case 'compression':
    case 'monitor': // never answered, whatever it holds
      return { type: 'silent', request };
    case 'seed':
    case 'record_episode_stats':
    case 'close':
      return model.hasEnv ? { type: 'silent', request } : { type: 'error', code: 'NO_ENV' };
    default:
      return { type: 'reply', request };
  }
}

export function applySilent(request: Request, model: ConnectionModel): void {
  if (request.kind === 'compression') model.compression = request.level;
  if (request.kind === 'close') model.hasEnv = false;
}

const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));
/** The shape of the reply each request kind gets when it succeeds. */
const REPLY_SCHEMA: Partial<Record<Request['kind'], z.ZodType>> = {
  observationspace: replySchemas.space,
  actionspace: replySchemas.space,
  sample: replySchemas.sample,
  reset: replySchemas.reset,
  step: replySchemas.step,
  contains: replySchemas.contains,
  url: replySchemas.url,
  render: z.union([replySchemas.frame, replySchemas.text]),
};
/** Error codes a request may get when the connection holds an env (beyond ENV_FAILED, counted apart). */
const ALLOWED_ERRORS: Partial<Record<Request['kind'], string[]>> = {
  step: ['RESET_NEEDED', 'INVALID_ACTION'],
  contains: [],
  reset: [],
  sample: [],
  observationspace: [],
  actionspace: [],
  url: [],
  render: ['RESET_NEEDED', 'BAD_REQUEST'],
};

/** What local `gym.make` says about a make request: null when it works, else the error code. */
function localMakeOutcome(name: string, kwargs: Record<string, unknown>): string | null {
  try {
    makeEnv(name, kwargs);
    return null;
  } catch (err) {
    return errorReplyFor(err).code;
  }
}

export interface CheckedReply {
  problem: string | null;
  code: string | null;
  message?: string;
}

/** Checks one reply against the expectation and updates the model; `problem` says what is wrong. */
export function checkReply(expect: Expectation, raw: Buffer, model: ConnectionModel, marker?: string): CheckedReply {
  let compressed: boolean;
  let value: unknown;
  try {
    ({ compressed, value } = decodeReply(raw));
  } catch (err) {
    return { problem: `unreadable reply (${(err as Error).message}): ${JSON.stringify(raw.subarray(0, 120).toString('latin1'))}`, code: null };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: `reply is not a JSON object: ${JSON.stringify(value)}`, code: null };
  const error = errorOf(value);
  if (error) {
    if (typeof error !== 'object' || typeof error.code !== 'string' || typeof error.message !== 'string' || Object.keys(value).length !== 1) {
      return { problem: `malformed error reply ${JSON.stringify(value).slice(0, 200)}`, code: null };
    }
    if (!KNOWN_CODES.has(error.code)) return { problem: `unknown error code ${error.code}`, code: error.code };
  }
  const code = error?.code ?? null;
  const request = expect.type === 'error' ? null : expect.request;
  const makeSucceeded = request?.kind === 'make' && !error;
  const wantCompressed = model.compression > 0 && !makeSucceeded;
  const ret = (problem: string | null): CheckedReply => ({ problem, code, message: error?.message });
  if (compressed !== wantCompressed) return ret(`reply is ${compressed ? 'compressed' : 'plain'}, expected ${wantCompressed ? 'compressed' : 'plain'} (level ${model.compression}): ${JSON.stringify(value).slice(0, 200)}`);
  if (code === 'ENV_LOST') return ret(`ENV_LOST: a worker thread died (${error!.message})`);

  if (expect.type === 'error') {
    if (!error) return ret(`expected an error${expect.code ? ' ' + expect.code : ''}, got ${JSON.stringify(value).slice(0, 200)}`);
    if (expect.code !== null && code !== expect.code) return ret(`expected ${expect.code}, got ${code}: ${error.message.slice(0, 200)}`);
    return ret(null);
  }
  if (expect.type === 'silent') return ret(`a reply to a silent request that should have succeeded: ${JSON.stringify(value).slice(0, 200)}`);

  const r = expect.request;
  if (r.kind === 'make') {
    const predicted = localMakeOutcome(r.name, r.kwargs);
    if (marker !== undefined) {
      if (code !== 'UNKNOWN_ENV' || !error!.message.includes(`'${marker}'`)) return ret(`the marker ${marker} was answered ${JSON.stringify(value).slice(0, 200)}: replies are out of step`);
      return ret(null);
    }
    if (!error) {
      if (predicted !== null) return ret(`make ${JSON.stringify(r.name)} succeeded, expected ${predicted}`);
      const instance = (value as { instance?: unknown }).instance;
      if (typeof instance !== 'string' || !/^[0-9a-f]{13}$/.test(instance)) return ret(`bad instance reply ${JSON.stringify(value)}`);
      model.hasEnv = model.everHadEnv = true;
      model.compression = 0;
      return ret(null);
    }
    if (code === 'TOO_MANY_ENVS' || code === 'ENV_FAILED') return ret(null);
    if (code !== predicted) return ret(`make ${JSON.stringify(r.name).slice(0, 80)} answered ${code}, expected ${predicted ?? 'an instance'}: ${error!.message.slice(0, 200)}`);
    return ret(null);
  }
  const schema = REPLY_SCHEMA[r.kind];
  if (!schema) return ret(`unexpected request kind ${r.kind}`);
  const needsEnv = r.kind !== 'url';
  const hasWhatItNeeds = needsEnv ? model.hasEnv : model.everHadEnv;
  if (!hasWhatItNeeds) {
    if (code !== 'NO_ENV') return ret(`${r.kind} without an env answered ${JSON.stringify(value).slice(0, 200)}, expected NO_ENV`);
    return ret(null);
  }
  if (error) {
    if (code === 'ENV_FAILED' || ALLOWED_ERRORS[r.kind]?.includes(code!)) return ret(null);
    return ret(`${r.kind} answered ${code}: ${error.message.slice(0, 200)}`);
  }
  const shape = schema.safeParse(value);
  if (!shape.success) return ret(`${r.kind} answered ${JSON.stringify(value).slice(0, 200)}: ${shape.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (r.kind === 'url' && !String((value as { url: unknown }).url).includes('/recordings/')) return ret(`bad url reply ${JSON.stringify(value)}`);
  return ret(null);
}

/** A reference session in this process: the replies the server must give for a deterministic script. */
export function referenceSession(): Session {
  return new Session({ urlBase: 'http://reference', compression: 0, lastInstance: null, lost: false });
}

/** The JSON text a plain reference reply would be on the wire (before its terminator), or null when silent. */
export function referenceReply(session: Session, line: string): string | null {
  return session.handle(line).reply?.json ?? null;
}
