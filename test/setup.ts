// Tests that drive sessions and env runners in-process need the env families' code loaded, as an env
// worker has it after its first make (the registry loads each family on first use: src/envs/registry.ts).
import { loadEnvSpecs } from '../src/envs/registry.js';

await loadEnvSpecs();
