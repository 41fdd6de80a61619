import { commandSchemas, ENV_COMMAND } from './schema.js';

/**
 * Error codes a client can see in `{"error": {"code": …, "message": …}}`. Stable identifiers:
 * clients may branch on them, so codes are only ever added, never renamed.
 */
export const ERROR_CODES = {
  BAD_ENCODING: 'the line is not valid UTF-8',
  EMPTY_LINE: 'the line is empty',
  BAD_JSON: 'the line is not a JSON object',
  UNKNOWN_COMMAND: `the object has no command gym-tcp knows (${[ENV_COMMAND, ...Object.keys(commandSchemas)].join(', ')})`,
  BAD_REQUEST: 'the command is known but its fields are wrong',
  UNKNOWN_ENV: 'no environment has that id',
  BAD_KWARGS: 'the keyword arguments do not fit the environment',
  NO_ENV: 'the request needs an environment and the connection has none',
  RESET_NEEDED: 'step or render before the first reset',
  INVALID_ACTION: 'the action is not in the action space',
  BAD_SEED: 'the seed is not a non-negative integer',
  LINE_TOO_LONG: 'the line exceeds the server line limit; the connection is then closed',
  ENV_LOST: 'the environment could not be rebuilt after its worker thread stopped; create a new one',
  ENV_FAILED: 'the environment raised an error while handling the request',
  SHUTTING_DOWN: 'the server is shutting down',
  TOO_MANY_CONNECTIONS: 'the server, or this client address, has as many connections as it allows; the connection is closed',
  TOO_MANY_ENVS: 'the server holds as many environments as it allows',
  AUTH_REQUIRED: 'the server needs {"auth": "<token>"} as the first line; the connection is closed',
  AUTH_FAILED: 'the token is wrong; the connection is closed',
  REQUEST_TIMEOUT: 'a line was still unfinished --request-timeout after its first byte came; the connection is closed',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A failed request: becomes an error reply on the same connection, which then carries on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The codes in a fixed order (a code's index travels in the worker channel's records). */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];
