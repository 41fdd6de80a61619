/**
 * The routes about the service rather than an env: upload (gone), shutdown, and gym-server's help
 * (recordings: recordings.ts).
 */
import { HttpError } from '../errors.js';
import { requiredParam } from '../params.js';
import type { RestServerOptions } from '../rest-server.js';
import { json, type RouteSpec } from '../router.js';

/**
 * `settings` are read at each request (the RestServer's options); `close` stops the server when an
 * allowed shutdown has no `onShutdown`; `help` is /v1/help's body.
 */
export function serviceRoutes(
  settings: Pick<RestServerOptions, 'allowShutdown' | 'onShutdown'>,
  close: () => Promise<void>,
  help: () => string,
) {
  return {
    upload: {
      pattern: '/v1/upload/',
      method: 'POST',
      doc:
        'Upload the results of training to OpenAI Gym. Parameters: training_dir, api_key, algorithm_id (optional). ' +
        'The upload service no longer exists: with every parameter given, the answer is a 410.',
      handler: (_, body) => {
        const p = body.object();
        requiredParam(p, 'training_dir');
        requiredParam(p, 'api_key');
        throw new HttpError(
          410,
          "The OpenAI Gym upload service (gym.upload, the gym.openai.com scoreboard) was shut down in 2017 and no longer exists: nothing was uploaded. The monitor's files stay in the server's monitor directory.",
        );
      },
    },
    shutdown: {
      pattern: '/v1/shutdown/',
      method: 'POST',
      doc: 'Request a server shutdown (only when the server was started with --allow-shutdown; otherwise 403).',
      handler: () => {
        if (!settings.allowShutdown) {
          throw new HttpError(403, 'shutting the server down over HTTP is disabled: the operator can allow it with --allow-shutdown');
        }
        return {
          status: 200,
          body: 'Server shutting down',
          contentType: 'text/html; charset=utf-8',
          headers: { Connection: 'close' },
          after: () => (settings.onShutdown ? settings.onShutdown() : void close()),
        };
      },
    },
    help: {
      pattern: '/v1/help',
      method: 'GET',
      doc: 'The routes, with their methods and docs (gym-server\'s route).',
      handler: () => json(help()),
    },
  } satisfies Record<string, RouteSpec>;
}
