/** Gymnasium's `utils.colorize` (gymnasium/utils/colorize.py): the terminal colour codes of the toy-text `ansi` frames. */
const COLOUR_CODES = { gray: 30, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, crimson: 38 } as const;

/** `text` wrapped in `ESC[<code>[;1]m … ESC[0m`; a highlight is the background code (10 more). */
export function colorize(text: string, colour: keyof typeof COLOUR_CODES, options: { bold?: boolean; highlight?: boolean } = {}): string {
  const code = COLOUR_CODES[colour] + (options.highlight ? 10 : 0);
  return `\x1b[${code}${options.bold ? ';1' : ''}m${text}\x1b[0m`;
}
