import path from 'node:path';
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Logger } from 'pino';
import type { PrismaClient as SqliteClient } from './generated/sqlite/client.ts';
import { SharedAdapterFactory } from './driver-adapter.ts';
import { type EventWriter, postgresEventWriter, sqliteEventWriter } from './event-writer.ts';
import { migratePostgres } from './migrate-postgres.ts';
import { migrateSqlite } from './migrate-sqlite.ts';
import { createOwnerOnlyFile, ensureOwnerOnlyDir, openToOthers } from '../owner-only-files.ts';
import { pgPoolConfig } from './pg-config.ts';
import { describeStore, type StoreLocation } from './store-url.ts';
import type { StoreKind } from './types.ts';

/**
 * Both generated clients come from the one models file, so their model delegates and raw-query
 * methods are the same; the store code is written once against the SQLite client's type.
 */
export type StoreClient = SqliteClient;

/** One open, migrated database. */
export interface StoreDb {
  readonly kind: StoreKind;
  readonly client: StoreClient;
  /** The ingest hot path: on the connection(s) under `client`, without its per-query work. */
  readonly writeEvents: EventWriter;
  /** The most bind parameters one statement may carry on this engine. */
  readonly maxParams: number;
  /** For logs: where it is, without secrets. */
  readonly description: string;
}

/**
 * better-sqlite3 is synchronous: a busy wait on a file another connection is writing stops the whole
 * event loop, every region with it. A short wait, then ingest's retry with backoff, keeps the other
 * regions flowing while one region's file is locked.
 */
const SQLITE_STORE_BUSY_MS = 50;

/** WAL pages after which a commit checkpoints (SQLite's default: 1,000); see openSqlite. */
const SQLITE_WAL_CHECKPOINT_PAGES = 4_000;

/**
 * Page cache per SQLite connection, KiB. better-sqlite3 builds SQLite with 16 MB; a region's cache
 * fills to that as its file grows, and the launcher holds four stores (three regions and the
 * directory). At 10,000 devices inserts cost the same CPU with 8 MB (the hot pages are an index
 * page per device) and the stack holds up to 32 MB less (docs/benchmarks.md).
 */
const SQLITE_CACHE_KIB = 8_000;

/** SQLite's compile-time default since 3.32 (better-sqlite3 keeps it); PostgreSQL's wire limit. */
const MAX_PARAMS: Record<StoreKind, number> = { sqlite: 32_766, postgres: 65_535 };

/** Migrates the database, then opens a Prisma client on it with its own driver adapter. */
export async function connectStore(location: StoreLocation, logger: Logger): Promise<StoreDb> {
  const description = describeStore(location);
  const log = logger.child({ store: description });
  const { client, writeEvents } = location.kind === 'sqlite' ? await openSqlite(location.file, log) : await openPostgres(location.url, log);
  return { kind: location.kind, client, writeEvents, maxParams: MAX_PARAMS[location.kind], description };
}

interface Opened {
  client: StoreClient;
  writeEvents: EventWriter;
}

async function openSqlite(file: string, logger: Logger): Promise<Opened> {
  // Created 0600 before SQLite opens it: its -wal, -shm and journal files take the database's mode.
  ensureOwnerOnlyDir(path.dirname(file));
  if (!createOwnerOnlyFile(file) && openToOthers(file)) {
    logger.warn('store file is readable by group or others (made before files were owner-only?); chmod 600 it and its -wal and -shm files');
  }
  migrateSqlite(file, logger);
  const { PrismaClient } = await import('./generated/sqlite/client.ts');
  const factory = new SharedAdapterFactory(new PrismaBetterSQLite3({ url: file, timeout: SQLITE_STORE_BUSY_MS }));
  const client = new PrismaClient({ adapter: factory });
  // Per-connection settings (the adapter holds one connection per client). NORMAL in WAL mode
  // loses nothing when the process is killed, only possibly the last commits on a power cut.
  await client.$executeRawUnsafe('PRAGMA synchronous = NORMAL');
  await client.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  // Negative: a size in KiB rather than in pages.
  await client.$executeRawUnsafe(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
  // At fleet scale each committed batch dirties an index page per device it holds, so SQLite's default
  // (a checkpoint every 1,000 WAL pages) checkpoints after nearly every batch and copies the same hot
  // pages to the database file again and again. A WAL of up to 4,000 pages (16 MB) lets a checkpoint
  // copy each page once for many batches: about a quarter less CPU per row with 10,000 devices
  // (docs/benchmarks.md), for checkpoints that come less often and take longer.
  await client.$queryRawUnsafe(`PRAGMA wal_autocheckpoint = ${SQLITE_WAL_CHECKPOINT_PAGES}`);
  // Deleted rows are overwritten with zeros rather than left in free space: an erased device's events
  // must not be readable from the file afterwards (the WAL is checkpointed after each erasure too).
  await client.$queryRawUnsafe('PRAGMA secure_delete = ON');
  return { client, writeEvents: sqliteEventWriter(() => factory.adapter) };
}

async function openPostgres(url: string, logger: Logger): Promise<Opened> {
  await migratePostgres(url, logger);
  const { PrismaClient } = await import('./generated/postgres/client.ts');
  // One pool for Prisma and the hot path; Prisma's disconnect ends it.
  const pool = new pg.Pool(pgPoolConfig(url, { connectionTimeoutMillis: 5_000 }));
  const client = new PrismaClient({
    adapter: new PrismaPg(pool, {
      disposeExternalPool: true,
      onPoolError: (error) => logger.warn({ err: error.message }, 'idle PostgreSQL connection failed'),
      onConnectionError: (error) => logger.warn({ err: error.message }, 'PostgreSQL connection failed'),
    }),
  }) as unknown as StoreClient;
  await client.$connect();
  return { client, writeEvents: postgresEventWriter(pool) };
}
