import { randomUUID } from 'node:crypto';
import { Database } from './sqlite-library.ts';
import type { Logger } from 'pino';
import { type AppliedMigration, pendingMigrations, readMigrations } from './migration-files.ts';

export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** Prisma's own DDL, so `prisma migrate status` and `deploy` read our records as theirs. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/** Prisma writes SQLite timestamps as ISO 8601 with an explicit +00:00 offset. */
const timestamp = (date: Date): string => date.toISOString().replace('Z', '+00:00');

/**
 * Brings one SQLite file up to the checked-in migrations, each in its own BEGIN IMMEDIATE
 * transaction (which also keeps two processes opening the same file from applying one twice).
 * Runs on a short-lived connection of its own, before Prisma opens the file.
 */
export function migrateSqlite(file: string, logger: Logger): void {
  const db = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    // WAL is a property of the file: set once here, every later connection gets it.
    db.pragma('journal_mode = WAL');
    // Per connection: a migration that copies a table must not leave the old rows in free pages.
    db.pragma('secure_delete = ON');
    db.exec(CREATE_MIGRATIONS_TABLE);
    const applied = db.prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations').all() as AppliedMigration[];
    const pending = pendingMigrations(readMigrations('sqlite'), applied, (name) =>
      logger.warn({ migration: name }, 'applied migration differs from the checked-in file'),
    );
    const isApplied = db.prepare('SELECT 1 FROM _prisma_migrations WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL');
    const record = db.prepare(
      'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, ?, 1)',
    );
    for (const migration of pending) {
      const apply = db.transaction(() => {
        if (isApplied.get(migration.name) !== undefined) return false;
        const startedAt = new Date();
        db.exec(migration.sql);
        record.run(randomUUID(), migration.checksum, timestamp(new Date()), migration.name, timestamp(startedAt));
        return true;
      });
      if (apply.immediate()) logger.info({ migration: migration.name }, 'applied migration');
    }
  } finally {
    db.close();
  }
}
