/**
 * The live view's browser files (src/live/web/): plain HTML and JavaScript, served as they are, no
 * build step. Read once, at first use. They sit beside the sources, which the compiled code finds
 * from dist/ (the package ships src/live/web; see package.json `files`).
 */
import { readFileSync } from 'node:fs';

const WEB_DIR = new URL(import.meta.url.endsWith('.ts') ? './web/' : '../../../src/live/web/', import.meta.url);

/** The files, by the name the routes serve them under, with their content types. */
export const WEB_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'live.js': 'text/javascript; charset=utf-8',
  'live.css': 'text/css; charset=utf-8',
  'render.html': 'text/html; charset=utf-8',
} as const;

export type WebFile = keyof typeof WEB_FILES;

const cache = new Map<WebFile, Buffer>();

export function webFile(name: WebFile): Buffer {
  let bytes = cache.get(name);
  if (!bytes) cache.set(name, (bytes = readFileSync(new URL(name, WEB_DIR))));
  return bytes;
}
