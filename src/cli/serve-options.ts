/**
 * The options table (src/config/options.ts) as commander's options of `gym-tcp serve`, and so its
 * `--help`: flag, environment variable, default and parser all come from the table.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { SERVE_OPTIONS, type ServeOption } from '../config/options.js';

function commanderOption(option: ServeOption): Option {
  const withDefaultText = option.default === undefined && option.defaultText !== undefined;
  const made = new Option(option.flags, withDefaultText ? `${option.help} (default: ${option.defaultText})` : option.help).env(option.env);
  // A switch takes no text to parse; commander shows no default for one that is off.
  if (made.isBoolean()) return made;
  made.argParser((text: string) => {
    const read = option.value.safeParse(text);
    if (!read.success) throw new InvalidArgumentError(read.error.issues[0].message);
    return read.data;
  });
  if (option.default !== undefined) made.default(option.default);
  return made;
}

/** Gives `command` (`gym-tcp serve`) the table's options, in the table's order. */
export function addServeOptions(command: Command): Command {
  for (const option of Object.values(SERVE_OPTIONS)) command.addOption(commanderOption(option));
  return command;
}
