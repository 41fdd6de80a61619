export { GymTcpServer, DEFAULT_SERVER_OPTIONS, type ServerOptions } from './server/tcp-server.js';
export { GymClient, GymServerError, type SpaceInfo, type StepReply } from './client/client.js';
export { EnvPool } from './pool/env-pool.js';
export { Session } from './protocol/session.js';
export { ERROR_CODES, ProtocolError, type ErrorCode } from './protocol/errors.js';
export { makeEnv, listEnvSpecs, findEnvSpec, ENV_ALIASES } from './envs/registry.js';
export { Env, type EnvSpec } from './envs/env.js';
export { EnvRunner } from './envs/runner.js';
export { NpRandom } from './rng/index.js';
