import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from './wait.ts';

/**
 * A command line of ours run as a user runs it (its own process, tsx), its output collected as it
 * comes, so a test can wait for a line, send a signal and read the summary. Always ended by the test
 * (kill() in a finally), bounded by the waits' own timeouts.
 */
export interface ChildCli {
  readonly pid: number;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once `pattern` appears in stdout or stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** The exit code (null when ended by a signal), within `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | null>;
  kill(): void;
}

export function startChildCli(entry: string, args: readonly string[], env: Record<string, string> = {}): ChildCli {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (pattern, timeoutMs = 60_000) => waitUntil(`${pattern} in the output of ${entry}`, () => pattern.test(stdout) || pattern.test(stderr), timeoutMs),
    signal: (signal) => void child.kill(signal),
    exited: (timeoutMs = 30_000) =>
      Promise.race([
        exit,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${entry} did not exit within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The `key=value` pairs of the last line a command printed: its summary line. */
export const summaryFigures = (stdout: string): Record<string, string> =>
  Object.fromEntries((stdout.trim().split('\n').at(-1) ?? '').split(' ').map((pair) => pair.split('=') as [string, string]));
