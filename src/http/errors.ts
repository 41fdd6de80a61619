/**
 * The REST front's errors: an HttpError is a status with gym-http-api's `{"message": "…"}` body (400
 * unless said), and a protocol error an env's session answered becomes one here, in REST terms where
 * the two differ.
 */
import { toPyJson } from '../json/pyjson.js';
import type { RestEnv } from './rest-env.js';
import type { Reply } from './router.js';

/** A failed request: becomes `{"message": message}` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, message);
}

/** What a request that failed answers: an HttpError as it says, anything else a 500. */
export function errorReply(err: unknown): Reply {
  if (err instanceof HttpError) {
    return { status: err.status, body: toPyJson({ message: err.message }) + '\n', headers: err.headers };
  }
  return { status: 500, body: toPyJson({ message: `internal error: ${err instanceof Error ? err.message : String(err)}` }) + '\n' };
}

/** An env whose worker thread stopped and that could not be rebuilt. */
export function lostError(env: RestEnv): HttpError {
  return new HttpError(
    410,
    `Instance_id ${env.id} is gone: the worker thread that held the environment stopped. Create a new one with POST /v1/envs/ ` +
      `(POST /v1/envs/${env.id}/close/ forgets this one).`,
  );
}

/** A protocol error reply → the REST error (400 with the protocol's message, in REST terms where they differ). */
export function protocolError(error: { code: string; message: string }, env: RestEnv): HttpError {
  switch (error.code) {
    case 'ENV_LOST':
      return lostError(env);
    case 'NO_ENV':
      return badRequest(`Instance_id ${env.id} unknown`);
    case 'RESET_NEEDED':
      return badRequest(`reset the environment before stepping: POST /v1/envs/${env.id}/reset/`);
    case 'TOO_MANY_ENVS':
      return new HttpError(429, `${error.message} (the server-wide --max-envs, shared with TCP)`);
    case 'ENV_FAILED':
      return new HttpError(500, error.message);
    case 'SHUTTING_DOWN':
      return new HttpError(503, error.message);
    default:
      return badRequest(error.message);
  }
}
