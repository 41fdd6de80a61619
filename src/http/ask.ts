/**
 * How a route asks a REST env: it sends a protocol line (built with src/protocol/messages.ts) and reads
 * the typed reply, a protocol error thrown as its REST error (errors.ts).
 */
import { request, requestLine } from '../protocol/messages.js';
import { protocolError } from './errors.js';
import type { ProtocolReply, RestEnv } from './rest-env.js';

/** The requests without arguments, written once. */
export const LINES = {
  reset: requestLine(request.reset()),
  actionSpace: requestLine(request.actionSpace()),
  observationSpace: requestLine(request.observationSpace()),
  sample: requestLine(request.sample()),
};

/** Sends a request line and returns its reply's JSON text, or throws the REST error for it. */
export async function ask(env: RestEnv, line: string, observe?: (reply: ProtocolReply) => void): Promise<string> {
  return (await askReply(env, line, observe)).json ?? '';
}

/** Sends a request line and returns the JSON text of its reply's one value (`sample`'s action, `info`'s SPACE). */
export async function askValue(env: RestEnv, line: string): Promise<string> {
  return (await askReply(env, line)).value ?? '';
}

async function askReply(env: RestEnv, line: string, observe?: (reply: ProtocolReply) => void): Promise<ProtocolReply> {
  const reply = await env.request(line, observe);
  if (reply.error) throw protocolError(reply.error, env);
  return reply;
}
