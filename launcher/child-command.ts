import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { isReadyMessage, type ReadyMessage } from '../cli/ready.ts';
import { stopProcess } from './stop-process.ts';

/**
 * One of our commands (`brewtel start`, `brewtel directory`, …) in a process of its own, as
 * `brewtel start --planes` runs its planes and its directory: the `brewtel` command line beside this
 * file, forked, so the child runs the same code as the parent. Its log lines go to the parent's stderr under its name; its stdout (the
 * banner, which may hold a generated token) is not passed on.
 */
export interface ChildCommand {
  readonly name: string;
  /** Resolves with the addresses it announced (cli/ready.ts); rejects if it exits or times out first. */
  readonly ready: Promise<ReadyMessage>;
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** SIGINT, as Ctrl-C would; SIGKILL after `graceMs`. Resolves once it has exited. */
  stop(graceMs?: number): Promise<number | null>;
}

/** `.ts` from sources, `.js` in the package: the extension of every module a child is forked from. */
export const OWN_EXTENSION = extname(fileURLToPath(import.meta.url));
const CLI = fileURLToPath(new URL(`./cli${OWN_EXTENSION}`, import.meta.url));
/** From sources a child needs tsx, whoever started this process (tsx, vitest); the package is plain JS. */
export const RUNTIME_FLAGS: readonly string[] = OWN_EXTENSION === '.ts' ? ['--import', 'tsx'] : [];
/** Long enough for a plane to open its stores and migrate them on a loaded machine. */
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

export interface ChildCommandOptions {
  /**
   * A command that runs node for us, e.g. `['ip', 'netns', 'exec', 'NS']` to start the child on
   * another host of a test network; it must keep the environment and the IPC descriptor node passes.
   */
  launchVia?: readonly string[];
}

export function startChildCommand(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logger: Logger,
  options: ChildCommandOptions = {},
): ChildCommand {
  const [via, ...viaArgs] = options.launchVia ?? [];
  const runtime = via === undefined ? { execArgv: [...RUNTIME_FLAGS] } : { execPath: via, execArgv: [...viaArgs, process.execPath, ...RUNTIME_FLAGS] };
  const child: ChildProcess = fork(CLI, [...args], { env, ...runtime, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout?.resume();
  const stderr = createInterface({ input: child.stderr! });
  let lastError = '';
  stderr.on('line', (line) => {
    lastError = line;
    process.stderr.write(`[${name}] ${line}\n`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.on('message', (message) => {
      if (!isReadyMessage(message)) return;
      clearTimeout(timer);
      resolve(message);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (code ${code}) before it was ready${lastError ? `: ${lastError}` : ''}`));
    });
  });
  ready.catch(() => undefined);
  return {
    name,
    ready,
    exited,
    stop: (graceMs = STOP_GRACE_MS) =>
      stopProcess(child, exited, 'SIGINT', graceMs, () => logger.warn({ child: name, graceMs }, 'child did not stop in time; killing it')),
  };
}
