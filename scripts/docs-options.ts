/**
 * `npm run docs:options`: writes the README's tables of `gym-tcp serve` options anew from the options
 * table (src/config/options.ts), between their `<!-- options:begin -->` and `<!-- options:end -->`
 * markers. test/options.test.ts fails until it has been run after a change to the table.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withOptionsTables } from '../src/cli/readme-options.js';

// From dist/scripts/ once built (npm run), from scripts/ when run from source.
const readmePath = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../README.md' : '../../README.md', import.meta.url));
const readme = readFileSync(readmePath, 'utf8');
const updated = withOptionsTables(readme);
if (updated === readme) {
  console.log('README.md: the options tables are up to date');
} else {
  writeFileSync(readmePath, updated);
  console.log('README.md: the options tables are written anew');
}
