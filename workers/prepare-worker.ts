/**
 * Piscina worker of the preparation pool (src/pool/prepare-pool.ts): the costly part of a deferred
 * `make`, off the env workers. It answers the make line to run instead (the costly part done: e.g.
 * the generated map as `desc`), or the error the make fails with, as the env worker would have.
 */
import { EnvNotLoaded } from '../src/envs/errors.js';
import { prepareMake, warmEnvFamilies } from '../src/envs/registry.js';
import type { PreparedMake } from '../src/pool/work.js';
import { parseRequest } from '../src/protocol/request.js';
import { errorOf, withoutRenderSuffix } from '../src/protocol/session.js';

/** `null`: load the env code now (the pool warms its threads at start), and answer nothing. */
export default async function prepare(line: string | null): Promise<PreparedMake | null> {
  if (line === null) {
    await warmEnvFamilies();
    return null;
  }
  try {
    const request = parseRequest(line);
    if (request.kind !== 'make') throw new Error(`only a make is prepared, not ${request.kind}`);
    for (;;) {
      try {
        const kwargs = prepareMake(withoutRenderSuffix(request.name), request.kwargs);
        return { line: JSON.stringify({ env: { name: request.name, kwargs } }) };
      } catch (err) {
        // The env family's code loads on first use (the registry): wait for it, then again.
        if (!(err instanceof EnvNotLoaded)) throw err;
        await err.loading;
      }
    }
  } catch (err) {
    return errorOf(err);
  }
}
