/**
 * The options table (src/config/options.ts) as the README's Markdown tables: all of `gym-tcp serve`'s
 * options between `<!-- options:begin -->` and `<!-- options:end -->`, the REST front's own again
 * between `<!-- options:begin rest -->` and `<!-- options:end -->`. `npm run docs:options` writes them;
 * test/options.test.ts fails when the README's are not what this makes.
 */
import { SERVE_OPTIONS, type ServeOption } from '../config/options.js';

const MARKED = /(<!-- options:begin( rest)? -->\n)[^]*?(<!-- options:end -->)/g;

const code = (text: string) => `\`${text}\``;

function defaultCell(option: ServeOption): string {
  if (option.defaultText !== undefined) return option.defaultText;
  if (typeof option.default === 'boolean') return option.default ? 'on' : 'off';
  return option.default === undefined ? 'none' : code(String(option.default));
}

function row(option: ServeOption): string {
  // A switch is on whatever its environment variable holds ("0" and "false" too).
  const env = option.flags.includes('<') ? code(option.env) : `${code(option.env)} (any value)`;
  const cells = [code(option.flags), env, defaultCell(option), option.help];
  return `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
}

/** The Markdown table of the options, or of the REST front's own. */
export function optionsTable(which: 'all' | 'rest' = 'all'): string {
  const options: ServeOption[] = Object.values(SERVE_OPTIONS).filter((option: ServeOption) => which === 'all' || option.rest);
  return ['| option | environment variable | default | meaning |', '|---|---|---|---|', ...options.map(row)].join('\n');
}

/** The README with the tables between its markers made anew; it throws if there are no markers. */
export function withOptionsTables(readme: string): string {
  if (!readme.match(MARKED)) throw new Error('the README has no <!-- options:begin --> … <!-- options:end --> markers');
  // Blank lines around a table, so that no Markdown renderer reads a marker as one of its rows.
  return readme.replace(MARKED, (_all, begin: string, rest: string | undefined, end: string) => `${begin}\n${optionsTable(rest ? 'rest' : 'all')}\n\n${end}`);
}
