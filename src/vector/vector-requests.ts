/** The vector requests after `make` (which the session handles, as it holds the env), each to its VectorEnv method. */
import type { Request } from '../protocol/schema.js';
import type { VectorEnv } from './vector-env.js';

/** A vector request other than `make` on the connection's vector env: its reply's JSON text, or null (`seed`, `send`). */
export function vectorRequest(vector: VectorEnv, request: Extract<Request, { kind: `vector_${string}` }>): string | null {
  switch (request.kind) {
    case 'vector_make':
      throw new Error('vector_make is the session\'s');
    case 'vector_reset':
      return vector.reset(request.seed, request.mask, request.options);
    case 'vector_step':
      return vector.step(request.actions);
    case 'vector_seed':
      vector.seedActions(request.seed);
      return null;
    case 'vector_sample':
      return vector.sample();
    case 'vector_send':
      vector.send(request.actions, request.envIds);
      return null;
    case 'vector_recv':
      return vector.recv(request.batchSize);
  }
}
