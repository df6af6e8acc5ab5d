import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StoreKind } from './types.ts';

/** One checked-in migration, as `prisma migrate deploy` sees it. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** Prisma's checksum: SHA-256 of the file's bytes, hex. */
  checksum: string;
}

const ROOT = path.join(import.meta.dirname, 'prisma');

export function migrationsDir(kind: StoreKind): string {
  return path.join(ROOT, kind, 'migrations');
}

/** The migrations of one provider in the order Prisma applies them (directory name order). */
export function readMigrations(kind: StoreKind): MigrationFile[] {
  const dir = migrationsDir(kind);
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(dir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

/** What `_prisma_migrations` already says about a database. */
export interface AppliedMigration {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/**
 * Which migrations still need applying. A migration Prisma recorded as started but neither finished
 * nor rolled back means a failed `prisma migrate deploy`: a person has to look, so refuse to go on.
 */
export function pendingMigrations(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
  onChecksumMismatch: (name: string) => void,
): MigrationFile[] {
  const live = applied.filter((m) => m.rolled_back_at === null);
  const failed = live.find((m) => m.finished_at === null);
  if (failed) {
    throw new Error(`migration ${failed.migration_name} failed earlier and is not resolved; see \`prisma migrate resolve\``);
  }
  const done = new Map(live.map((m) => [m.migration_name, m.checksum]));
  for (const file of files) {
    const checksum = done.get(file.name);
    if (checksum !== undefined && checksum !== file.checksum) onChecksumMismatch(file.name);
  }
  return files.filter((file) => !done.has(file.name));
}
