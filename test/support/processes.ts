import { readdir, readFile } from 'node:fs/promises';

/**
 * The pids of the Mosquitto processes whose command line names a file under `dir` (their config), read
 * from /proc: a test can check that a teardown left none of its own brokers behind, and never
 * counts the machine's own Mosquitto.
 */
export async function mosquittoProcessesUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const args = await readFile(`/proc/${entry}/cmdline`, 'utf8')
      .then((text) => text.split('\0'))
      .catch(() => []);
    if (args.some((arg) => arg.endsWith('/mosquitto')) && args.some((arg) => arg.startsWith(dir))) pids.push(Number(entry));
  }
  return pids;
}
