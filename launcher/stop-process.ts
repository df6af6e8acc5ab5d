import type { ChildProcess } from 'node:child_process';

/**
 * Asks `child` to stop with `signal` and resolves with its exit code once it has exited; one that is
 * still running after `graceMs` is killed (SIGKILL), `overdue` said first. One already gone resolves at once.
 */
export async function stopProcess(
  child: ChildProcess,
  exited: Promise<number | null>,
  signal: NodeJS.Signals,
  graceMs: number,
  overdue: () => void,
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill(signal);
  const timer = setTimeout(() => {
    overdue();
    child.kill('SIGKILL');
  }, graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
