/**
 * gym-http-api's env routes: create (and gym-server's create/), list, reset, step, close.
 */
import { toPyJson } from '../../json/pyjson.js';
import { request, requestLine } from '../../protocol/messages.js';
import { LINES, ask } from '../ask.js';
import type { EnvTable } from '../env-table.js';
import { HttpError, badRequest } from '../errors.js';
import type { EpisodeMonitor } from '../../monitor/episode-monitor.js';
import type { RestEnv } from '../rest-env.js';
import { optionalParam, preview, pyStr, renderParam, requiredParam, seedParam } from '../params.js';
import type { ProtocolReply } from '../rest-env.js';
import { NO_CONTENT, json, type Reply, type RouteSpec } from '../router.js';

export function envRoutes(envs: EnvTable) {
  /** Checks create's parameters, makes the env, answers its instance_id with `status`. */
  async function create(envId: unknown, seed: unknown, kwargs: unknown, status: number): Promise<Reply> {
    if (typeof envId !== 'string' || envId.trim() === '') {
      throw badRequest(`Attempted to look up malformed environment ID '${pyStr(envId)}'`);
    }
    if (kwargs !== undefined && (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))) {
      throw badRequest(`'kwargs' must be a JSON object of gym.make keyword arguments, got ${preview(JSON.stringify(kwargs))}`);
    }
    const seedText = seed === undefined ? null : seedParam(seed);
    const env = await envs.make(envId, kwargs as Record<string, unknown> | undefined, seedText);
    return json(`{"instance_id": "${env.id}"}`, status);
  }

  return {
    create: {
      pattern: '/v1/envs/',
      method: 'POST',
      doc:
        'Create an instance of the specified environment. Parameters: env_id (a gym environment ID string, such as ' +
        "'CartPole-v0'), seed (optional: seeds the first reset and the action space, as TCP's seed does), kwargs " +
        '(optional, gym-tcp: gym.make keyword arguments). Returns: instance_id, a short identifier for the instance.',
      handler: (_, body) => {
        const p = body.object();
        const envId = requiredParam(p, 'env_id');
        return create(envId, optionalParam(p, 'seed', undefined), optionalParam(p, 'kwargs', undefined), 200);
      },
    },
    list: {
      pattern: '/v1/envs/',
      method: 'GET',
      doc: 'List all environments running on the server. Returns: all_envs, a dict mapping instance_id to env_id.',
      handler: () => {
        const all: Record<string, string> = {};
        for (const env of envs.values()) all[env.id] = env.envId;
        return json(toPyJson({ all_envs: all }));
      },
    },
    createGymServer: {
      pattern: '/v1/envs/create/',
      method: 'POST',
      doc: "Create Environment (gym-server's route). Parameters: environment, such as 'CartPole-v0'. Returns: instance_id (status 201).",
      handler: (_, body) => create(requiredParam(body.object(), 'environment'), undefined, undefined, 201),
    },
    reset: {
      pattern: '/v1/envs/<instance_id>/reset/',
      method: 'POST',
      doc:
        'Reset the state of the environment and return an initial observation. Parameters: seed (optional, gym-tcp: ' +
        "reset with this seed), options (optional, gym-tcp: Gymnasium's reset options, e.g. {\"randomize\": false} " +
        'for CarRacing). Returns: observation, and info (the reset info, gym-tcp).',
      handler: async ({ instance_id }, body) => {
        const env = envs.lookup(instance_id);
        const p = body.optionalObject();
        const seed = optionalParam(p, 'seed', undefined);
        const seedText = seed === undefined ? null : seedParam(seed);
        const options = optionalParam(p, 'options', undefined);
        if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
          throw badRequest(`'options' must be a JSON object of reset options, got ${preview(JSON.stringify(options))}`);
        }
        const monitor = env.monitor;
        const seeding = seedText === null ? null : ask(env, requestLine(request.seed(seedText)));
        const onReset = (r: ProtocolReply) => {
          if (r.error !== null || !monitor) return;
          monitor.onReset();
          monitor.noteRecording(env.latestRecording(), true);
        };
        const line = options === undefined ? LINES.reset : requestLine(request.reset(options as Record<string, unknown>));
        const resetting = ask(env, line, monitor ? onReset : undefined);
        resetting.catch(() => {}); // awaited below; a seed error is reported first
        if (seeding) await seeding;
        return json(await resetting);
      },
    },
    step: {
      pattern: '/v1/envs/<instance_id>/step/',
      method: 'POST',
      doc:
        "Run one timestep of the environment's dynamics. Parameters: action, render (optional; accepted, no display). " +
        'Returns: observation, reward, done, info, and terminated, truncated (Gymnasium).',
      handler: async ({ instance_id }, body) => {
        const p = body.object();
        const action = requiredParam(p, 'action');
        const render = renderParam(optionalParam(p, 'render', false));
        const env = envs.lookup(instance_id);
        const monitor = env.monitor;
        const line = requestLine(request.step(action, render));
        return json(await ask(env, line, monitor ? (r) => observeStep(r, monitor, env) : undefined));
      },
    },
    close: {
      pattern: '/v1/envs/<instance_id>/close/',
      method: 'POST',
      doc: 'Manually close an environment (its monitor, if any, writes its files).',
      handler: async ({ instance_id }) => {
        const env = envs.lookup(instance_id, { allowLost: true });
        await envs.remove(env).catch((err) => {
          throw new HttpError(500, `the environment is closed, but its monitor files could not be written: ${(err as Error).message}`);
        });
        return NO_CONTENT;
      },
    },
  } satisfies Record<string, RouteSpec>;
}

/** The monitor records an episode the step ended, as the EnvRunner counted it; it never fails the request. */
function observeStep(reply: ProtocolReply, monitor: EpisodeMonitor, env: RestEnv): void {
  if (!reply.episode) return;
  monitor.onEpisodeEnd(reply.episode.r, reply.episode.l);
  monitor.noteRecording(env.latestRecording(), false);
}
