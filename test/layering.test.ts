// The layout's rules (docs/architecture.md "Layout"), checked on the source so that they stay true.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const importsOf = (file: string) => [...readFileSync(join(root, file), 'utf8').matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)].map((m) => m[1]);

describe('layout', () => {
  it('keeps the environments and spaces free of the wire: no import of the protocol, the pool or a front', () => {
    const offending: string[] = [];
    for (const file of [...sources('src/envs'), ...sources('src/spaces'), ...sources('src/rng'), ...sources('src/json')]) {
      for (const target of importsOf(file)) {
        if (/\/(protocol|server|http|pool|net|cli|config)\//.test(target) || /^\.\.\/(protocol|server|http|pool|net|cli|config)\b/.test(target)) {
          offending.push(`${file} imports ${target}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('gives every source file over 400 lines a reason at its top', () => {
    const long = sources('src')
      .concat(sources('workers'))
      .map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }))
      .filter(({ text }) => text.split('\n').length > 400)
      .filter(({ text }) => !/longer than 400 lines/i.test(text.split('\n').slice(0, 40).join('\n')))
      .map(({ file }) => relative(root, join(root, file)));
    expect(long).toEqual([]);
  });
});
