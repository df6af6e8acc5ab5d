import { randomBytes } from 'node:crypto';
import { createWriteStream, unlinkSync, type WriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * The simulator's credentials and recordings are owner-only (0600) from their first byte: opened
 * with that mode, never chmod-ed afterwards, and never written into an older file whose mode is
 * wider. (The server keeps its own copy of this rule; rooms share no code outside schema/.)
 */
const OWNER_ONLY_FILE = 0o600;

/** Replaces a file with a fresh 0600 file renamed over it: the content never lands in the old file. */
export async function replaceOwnerOnlyFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode: OWNER_ONLY_FILE, flag: 'wx' });
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * A new 0600 file to stream into. An existing file at that path is removed first (it would have been
 * truncated anyway), and the new one is created exclusively, so nothing is written into a file whose
 * mode someone else chose and no symlink placed there is followed.
 */
export function createOwnerOnlyStream(file: string): WriteStream {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return createWriteStream(file, { flags: 'wx', mode: OWNER_ONLY_FILE });
}
