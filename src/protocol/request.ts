import type { z } from 'zod';
import { ProtocolError } from './errors.js';
import { commandSchemas, ENV_COMMAND, envCommandSchemas, type Request } from './schema.js';

const COMMANDS = Object.keys(commandSchemas).concat(ENV_COMMAND).join(', ');
const ENV_BODIES = Object.keys(envCommandSchemas)
  .map((key) => `"${key}"`)
  .join(', ');

/**
 * Agents send the same few lines over and over (`{"step": {"action": 1, "render": 0}}`): a short line
 * parsed and validated once is answered from here after, as the same Request, deep-frozen so no
 * caller can change what the next one gets. JSON.parse and zod cost more than a CartPole step.
 */
const CACHED_LINE_CHARS = 128;
const CACHED_LINES = 1024;
const parsedLines = new Map<string, Request>();

/** One request line (already known to be valid UTF-8, terminator removed) → a Request, or a ProtocolError. */
export function parseRequest(line: string): Request {
  const cached = parsedLines.get(line);
  if (cached !== undefined) return cached;
  const request = parseUncached(line);
  if (line.length <= CACHED_LINE_CHARS) {
    if (parsedLines.size >= CACHED_LINES) parsedLines.clear();
    parsedLines.set(line, deepFreeze(request));
  }
  return request;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseUncached(line: string): Request {
  if (line.trim() === '') throw new ProtocolError('EMPTY_LINE', 'empty line: send one JSON object per line');
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (err) {
    throw new ProtocolError('BAD_JSON', `not valid JSON (${(err as Error).message}): ${preview(line)}`);
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    throw new ProtocolError('BAD_JSON', `expected a JSON object, got ${preview(line)}`);
  }
  if (nestingDepth(message) > MAX_DEPTH) {
    throw new ProtocolError('BAD_REQUEST', `the request is nested deeper than ${MAX_DEPTH} levels`);
  }
  const keys = Object.keys(message);
  if (keys.length !== 1) {
    throw new ProtocolError(
      'UNKNOWN_COMMAND',
      `a request has exactly one command key (${COMMANDS}); got ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'none'}`,
    );
  }
  const command = keys[0];
  const body = (message as Record<string, unknown>)[command];
  if (command === ENV_COMMAND) return parseEnvCommand(body);
  if (!Object.hasOwn(commandSchemas, command)) {
    throw new ProtocolError('UNKNOWN_COMMAND', `unknown command ${preview(command)}; known: ${COMMANDS}`);
  }
  return validate(commandSchemas[command as keyof typeof commandSchemas], body, command);
}

/** No request needs more; deeper values would overflow the stack of recursive code downstream. */
const MAX_DEPTH = 32;

/** How deeply objects and arrays nest in a parsed value; iterative, so any depth is safe to measure. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

function parseEnvCommand(body: unknown): Request {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    for (const key of Object.keys(envCommandSchemas) as (keyof typeof envCommandSchemas)[]) {
      if (Object.hasOwn(body, key)) return validate(envCommandSchemas[key], body, ENV_COMMAND);
    }
  }
  throw new ProtocolError(
    'BAD_REQUEST',
    `"${ENV_COMMAND}" takes an object with one of: ${ENV_BODIES}; got ${preview(JSON.stringify(body) ?? 'nothing')}`,
  );
}

function validate<S extends z.ZodType>(schema: S, body: unknown, command: string): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const where = [command, ...issue.path.map(String)].join('.');
    return `${where}: ${issue.message}`;
  });
  throw new ProtocolError(command === ENV_COMMAND && /\.seed\b/.test(problems.join()) ? 'BAD_SEED' : 'BAD_REQUEST', problems.join('; '));
}

function preview(text: string): string {
  return text.length > 60 ? JSON.stringify(text.slice(0, 60)) + '…' : JSON.stringify(text);
}
