import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The environment as entry points read it; passed in, so tests hand over their own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What every entry point's flag reader returns: its help asked for, its config, or one line of error. */
export type FlagResult<T> = { help: true } | { help: false; config: T } | { help: false; error: string };

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/**
 * The one argument parser shape of every brewtel command line: strict flags (an unknown flag is an
 * error), no positional arguments, `-h`/`--help` everywhere. Errors come back as a line, never thrown.
 */
export function readFlags<O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
): { help: true } | { help: false; values: Values<O> } | { help: false; error: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...options, ...HELP }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    return { help: false, error: (error as Error).message };
  }
  if (parsed.help === true) return { help: true };
  delete parsed.help;
  // parseArgs checked every value against `options`; its own result type is that record.
  return { help: false, values: parsed as Values<O> };
}
