import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Stores, keys and credentials are owner-only from their first byte: every file is opened with mode
 * 0600 and every folder made with 0700, so no umask and no moment between create and chmod can
 * widen them. (A process umask would do it for the entry points only, not for a program that embeds
 * the server, and would change that program's own files.)
 */
export const OWNER_ONLY_FILE = 0o600;
export const OWNER_ONLY_DIR = 0o700;

/** Makes the folder and any missing parents 0700; existing folders are left as they are. */
export function ensureOwnerOnlyDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIR });
}

/**
 * Creates an empty 0600 file unless one exists, before a library that would create it with its own
 * mode opens it (SQLite makes a new database 0644, and its -wal and -shm files inherit the database's
 * mode). Returns whether it created the file.
 */
export function createOwnerOnlyFile(file: string): boolean {
  try {
    closeSync(openSync(file, 'wx', OWNER_ONLY_FILE));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** True when an existing file may be read or written by group or others (made before this rule, or by hand). */
export function openToOthers(file: string): boolean {
  return (statSync(file).mode & 0o077) !== 0;
}

/**
 * Replaces a file with new content through a fresh 0600 file renamed over it: the content never
 * lands in the old file, whatever its mode, and a reader sees the old or the new file, never half.
 */
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
 * Reads a generated secret (a key file) or, when there is none, writes `generate()` into it and returns
 * that. The content goes into a private temporary file first and is hard-linked to its name, so the
 * name appears with the whole secret or not at all: two processes starting together on one data
 * folder both end with the first one's secret, and neither ever reads a created but still empty file.
 */
export function readOrCreateSecretFile(file: string, generate: () => string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  ensureOwnerOnlyDir(path.dirname(file));
  const secret = generate();
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${secret}\n`, { mode: OWNER_ONLY_FILE, flag: 'wx' });
  try {
    linkSync(temporary, file);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8').trim();
  } finally {
    rmSync(temporary, { force: true });
  }
}
