// The registry loads each env family's code on first use (src/envs/registry.ts). Checked in a fresh
// Node process, since this one's test setup has loaded every family already.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const registry = fileURLToPath(new URL('../dist/src/envs/registry.js', import.meta.url));

function inFreshProcess(code: string): unknown {
  const script = `import * as r from ${JSON.stringify(registry)};\n${code}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('env registry', () => {
  it('knows every id at once, loads a family only when asked, and makes envs synchronously once loaded', () => {
    const result = inFreshProcess(`
      const out = { ids: r.envIds().length, before: r.findEnvSpec('CartPole-v1') === undefined };
      try { r.makeEnv('CartPole-v1'); out.first = 'made'; } catch (e) { out.first = e.constructor.name; out.loading = typeof e.loading?.then; }
      await r.loadEnvFamily('CartPole-v0');
      out.sibling = r.findEnvSpec('CartPole-v1')?.id;
      out.other = r.findEnvSpec('Taxi-v3') === undefined;
      out.made = r.makeEnv('CartPole-v1').env.metadata.render_fps;
      try { r.makeEnv('Nope-v0'); } catch (e) { out.unknown = e.constructor.name; }
      out.alias = (await r.loadEnvFamily('Taxi-v3').then(() => r.makeEnv('Taxi-v3').spec.id));
      await r.warmEnvFamilies();
      out.box2dAfterWarm = r.findEnvSpec('LunarLander-v2') === undefined;
      out.box2d = (await r.loadEnvFamily('LunarLander-v2').then(() => r.makeEnv('LunarLander-v2').spec.id));
      console.log(JSON.stringify(out));
    `);
    expect(result).toEqual({
      ids: 17,
      before: true,
      first: 'EnvNotLoaded',
      loading: 'function',
      sibling: 'CartPole-v1',
      other: true,
      made: 50,
      unknown: 'UnknownEnvError',
      alias: 'Taxi-v4',
      // Box2D families are not warm: their engine loads on the first make.
      box2dAfterWarm: true,
      box2d: 'LunarLander-v3',
    });
  });

  it('rejects an unknown id when asked to load it', () => {
    expect(inFreshProcess(`console.log(JSON.stringify(await r.loadEnvFamily('Foo-v1').then(() => 'loaded', (e) => e.message)))`)).toMatch(
      /no environment named 'Foo-v1'/,
    );
  });
});
