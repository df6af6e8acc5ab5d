/**
 * A region's store out of service for a while, made the way it happens to a real deployment rather
 * than by a switch inside the server: another connection takes the store's write lock and holds it.
 * SQLite: `BEGIN IMMEDIATE` on the region's file, so the server's writes fail busy and ingest
 * retries them; PostgreSQL: `LOCK TABLE "Event" IN ACCESS EXCLUSIVE MODE`, so its writes wait.
 * Either way ingest keeps that region's messages unacknowledged while the other regions store on.
 */
import pg from 'pg';
import { Database } from '../server/store/sqlite-library.ts';

export type StoreLocation = { sqliteFile: string } | { postgresUrl: string };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds the store's write lock for `forMs`, then lets go; resolves once it has. */
export async function holdRegionStore(store: StoreLocation, forMs: number): Promise<void> {
  if ('sqliteFile' in store) {
    const db = new Database(store.sqliteFile);
    try {
      db.exec('BEGIN IMMEDIATE');
      await sleep(forMs);
      db.exec('ROLLBACK');
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: store.postgresUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('LOCK TABLE "Event" IN ACCESS EXCLUSIVE MODE');
    await sleep(forMs);
    await client.query('ROLLBACK');
  } finally {
    await client.end();
  }
}
