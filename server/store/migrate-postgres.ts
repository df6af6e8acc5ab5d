import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { type AppliedMigration, pendingMigrations, readMigrations } from './migration-files.ts';
import { pgPoolConfig } from './pg-config.ts';

/** The advisory lock key `prisma migrate deploy` takes, so our migrator and Prisma's exclude each other. */
const PRISMA_MIGRATE_LOCK = 72707369;

/** Prisma's own DDL, so `prisma migrate status` and `deploy` read our records as theirs. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Brings one PostgreSQL database up to the checked-in migrations, each in its own transaction,
 * under a session advisory lock so concurrent server starts apply each migration once.
 */
export async function migratePostgres(url: string, logger: Logger): Promise<void> {
  const client = new pg.Client(pgPoolConfig(url, { connectionTimeoutMillis: 10_000 }));
  // A connection lost mid-migration surfaces as the awaited query's rejection; this keeps the
  // client's 'error' event from becoming an uncaught exception.
  client.on('error', (error) => logger.warn({ err: error.message }, 'migration connection error'));
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const applied = await client.query<AppliedMigration>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations');
    const pending = pendingMigrations(readMigrations('postgres'), applied.rows, (name) =>
      logger.warn({ migration: name }, 'applied migration differs from the checked-in file'),
    );
    for (const migration of pending) {
      const startedAt = new Date();
      await client.query('BEGIN');
      try {
        // No parameters: pg sends it as a simple query, which may hold many statements.
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, now(), $3, $4, 1)',
          [randomUUID(), migration.checksum, migration.name, startedAt],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      logger.info({ migration: migration.name }, 'applied migration');
    }
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end().catch(() => undefined);
  }
}
