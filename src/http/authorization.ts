/**
 * The REST front's token check: the TCP front's token, carried in the Authorization header as
 * `Bearer <token>` or HTTP Basic with the token as password or user name (`http://:<token>@host:5000`
 * in a client's base URL), so clients that cannot add headers still can. The comparison is both
 * fronts' (src/net/auth.ts).
 */
import { WRONG_TOKEN, anyTokenMatches } from '../net/auth.js';
import { HttpError } from './errors.js';
import { preview } from './params.js';

/** Why a request's Authorization header does not carry the token, or null when it does. */
function authProblem(header: string | undefined, token: string): string | null {
  if (!header) return 'this server needs a token: send the header "Authorization: Bearer <token>" (or HTTP Basic with the token as password)';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space === -1 ? header.length : space).toLowerCase();
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  let candidates: string[];
  if (scheme === 'bearer') {
    candidates = [value];
  } else if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    candidates = colon === -1 ? [decoded] : [decoded.slice(colon + 1), decoded.slice(0, colon)];
  } else {
    return `unsupported Authorization scheme ${preview(scheme)}: use Bearer or Basic`;
  }
  // An empty part (Basic's user name in `:<token>`) is no candidate.
  return anyTokenMatches(candidates.filter((c) => c !== ''), token) ? null : WRONG_TOKEN;
}

/**
 * The 401 for a request whose Authorization header does not carry `token`, or null when it does.
 * Basic comes first in its WWW-Authenticate: Chromium reads the header's first scheme only, and with
 * Bearer first it never asked a user of the live view for the token (test/live-browser.test.ts).
 */
export function authorizationError(header: string | undefined, token: string): HttpError | null {
  const refused = authProblem(header, token);
  return refused ? new HttpError(401, refused, { 'WWW-Authenticate': 'Basic realm="gym-tcp", Bearer realm="gym-tcp"' }) : null;
}
