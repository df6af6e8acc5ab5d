import { rm, stat, writeFile } from 'node:fs/promises';
import { OWNER_ONLY_FILE } from '../owner-only-files.ts';

/** A lock older than this was left by a process that died holding it (a write takes milliseconds). */
const STALE_MS = 10_000;
const RETRY_MS = 20;

/**
 * Runs `work` while holding `<file>.lock`, created exclusively, so server processes of one plane
 * sharing a password file never interleave their read-modify-write cycles (one would drop the
 * other's new line). Rejects when the lock stays taken past `timeoutMs`.
 */
export async function withFileLock<T>(file: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: OWNER_ONLY_FILE });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(lock).catch(() => null);
      if (held && Date.now() - held.mtimeMs > STALE_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by another process`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { force: true });
  }
}
