/**
 * gym-http-api's request conventions: bodies are JSON objects, and a parameter that is missing, null,
 * "" or [] counts as not given (its get_required_param / get_optional_param). Errors are HttpErrors
 * (errors.ts). Seeds and the step's render flag follow the protocol's rules (src/protocol/schema.ts),
 * read here with gym-http-api's error messages and leniency.
 */
import { renderFlagSchema, seedSchema } from '../protocol/schema.js';
import { badRequest } from './errors.js';

/** A request body, read whole; its JSON is parsed on first use. */
export class RequestBody {
  #parsed = false;
  #value: unknown;

  constructor(
    readonly text: string,
    /** The request's headers and target (the recordings' routes read `Range` and `?limit=`). */
    readonly headers: Readonly<Record<string, string | string[] | undefined>> = {},
    readonly url = '/',
  ) {}

  /** A request header's value (the first, if repeated). */
  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  }

  /** A query parameter of the request's target. */
  query(name: string): string | undefined {
    return new URL(this.url, 'http://x').searchParams.get(name) ?? undefined;
  }

  /** The body's JSON value; undefined for an empty body; a 400 when the body is not JSON. */
  json(): unknown {
    if (!this.#parsed) {
      this.#parsed = true;
      if (this.text.trim() === '') {
        this.#value = undefined;
      } else {
        try {
          this.#value = JSON.parse(this.text);
        } catch (err) {
          throw badRequest(`Request is not a valid json: ${(err as Error).message} in ${preview(this.text)}`);
        }
      }
    }
    return this.#value;
  }

  /** The JSON object a route with parameters needs (gym-http-api: "Request is not a valid json" otherwise). */
  object(): Record<string, unknown> {
    const value = this.json();
    if (value === undefined || value === null) {
      throw badRequest('Request is not a valid json: the body is empty; send a JSON object of the parameters');
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw badRequest(`Request is not a valid json: expected a JSON object of the parameters, got ${preview(this.text)}`);
    }
    return value as Record<string, unknown>;
  }

  /** For routes whose parameters are all optional: an empty body, `null` or any non-object JSON means none. */
  optionalObject(): Record<string, unknown> {
    const value = this.json();
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  }
}

/** gym-http-api treats None, "" and [] as "not given". */
function missing(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function own(params: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(params, name) ? params[name] : undefined;
}

export function requiredParam(params: Record<string, unknown>, name: string): unknown {
  const value = own(params, name);
  if (missing(value)) throw badRequest(`A required request parameter '${name}' was not provided`);
  return value;
}

export function optionalParam<T>(params: Record<string, unknown>, name: string, fallback: T): unknown {
  const value = own(params, name);
  return missing(value) ? fallback : value;
}

/**
 * A flag as clients send it: JSON booleans, 0/1, and the strings "true"/"false"/"1"/"0"/"yes"/"no"
 * (the Lua client sends `"false"`, which Python's truthiness took for true; here it means false).
 */
export function flagParam(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  }
  throw badRequest(`'${name}' must be true or false, got ${preview(JSON.stringify(value) ?? String(value))}`);
}

/** A seed as the protocol takes it (schema.ts's rule), as the text of its digits for the protocol line. */
export function seedParam(value: unknown): string {
  const seed = seedSchema.safeParse(value);
  if (seed.success) return String(seed.data);
  throw badRequest(
    `'seed' must be a non-negative integer (a JSON number up to 2^53-1, or a string of digits for larger seeds); got ${preview(JSON.stringify(value) ?? String(value))}`,
  );
}

/**
 * A step's `render`: a flag the protocol takes (schema.ts's rule: 0, 1, true, false) means what it
 * means there. Anything else never fails the step, as in gym-http-api (there is no display): it is
 * read as flagParam reads flags ("false" is false), or else by Python's truthiness.
 */
export function renderParam(value: unknown): boolean {
  const flag = renderFlagSchema.safeParse(value);
  if (flag.success) return flag.data;
  try {
    return flagParam(value, 'render');
  } catch {
    return Boolean(value);
  }
}

/** Python's str() of a value in messages: strings bare, the rest as JSON. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

export function preview(text: string): string {
  return text.length > 80 ? JSON.stringify(text.slice(0, 80)) + '…' : JSON.stringify(text);
}
