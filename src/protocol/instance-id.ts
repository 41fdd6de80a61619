/**
 * Instance ids: `<node>-<13 hex>` (e.g. `n2-3d9a7d4a96484`), made by both fronts (a TCP session's
 * `name`, a REST `POST /v1/envs/`). The node part names the server that holds the env, so that a load
 * balancer can send every later request about it to that server (deploy/haproxy/haproxy.cfg routes
 * REST on it); the random part keeps ids unguessable and unique within a node. Old clients only need
 * a short unique string (docs/protocol.md §5.8), so a node name is at most 16 characters.
 */
import { randomBytes } from 'node:crypto';

/** What --node-id accepts: lowercase letters and digits, 1 to 16 (a HAProxy backend name and a URL segment as they are). */
export const NODE_ID = /^[a-z0-9]{1,16}$/;

/**
 * The default node id: the host's name as --node-id accepts it. Its first label, lowercased, without
 * what is not a letter or digit; of a longer one the last 16 characters, where generated names
 * (a Kubernetes pod's `gym-tcp-5d8c7b9f6-x2k4q`) differ. `node` if nothing is left.
 */
export function nodeIdFromHostname(hostname: string): string {
  const cleaned = hostname.split('.')[0].toLowerCase().replace(/[^a-z0-9]/g, '');
  return cleaned.slice(-16) || 'node';
}

/** A fresh instance id on `node`; without one (a session embedded in a test), the bare hex. */
export function newInstanceId(node?: string): string {
  const random = randomBytes(7).toString('hex').slice(0, 13);
  return node === undefined ? random : `${node}-${random}`;
}

