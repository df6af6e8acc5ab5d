import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Env } from './flags.ts';

/**
 * An entry point: flags and environment in, an exit code out (0 done, 1 failed, 2 bad usage; see
 * docs/cli.md). Long-running commands resolve once they have stopped. No entry point exits the process
 * itself, so tests and the `brewtel` command line call them like functions.
 */
export type Main = (argv: readonly string[], env: Env) => Promise<number>;

/**
 * Runs `main` when the module at `moduleUrl` is the script node was started with (`tsx
 * launcher/main.ts`, the npm scripts), and does nothing when it is imported (by `brewtel` or a test).
 */
export function runIfEntry(moduleUrl: string, name: string, main: Main): void {
  const script = process.argv[1];
  if (script === undefined || realpath(script) !== realpath(fileURLToPath(moduleUrl))) return;
  runMain(name, main, process.argv.slice(2));
}

/** Sets the exit code main returns; an error main did not expect is one line on stderr and exit code 1. */
export function runMain(name: string, main: Main, argv: readonly string[]): void {
  main(argv, process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

function realpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
