#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script, or `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('gym-tcp is not built yet: run `npm install` (or `npm run build`) in the gym-tcp folder first.');
  process.exit(1);
}
await import(main.href);
