import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL every test machine runs (trust auth); tests make their own databases in it. */
export const PG_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates uniquely named databases; `drop` removes them even while connections linger. */
export async function createTempDatabases(names: readonly string[]): Promise<{ urls: Record<string, string>; drop: () => Promise<void> }> {
  const run = `brewtel_test_${randomBytes(5).toString('hex')}`;
  const databases = names.map((name) => [name, `${run}_${name}`] as const);
  for (const [, db] of databases) await admin(`CREATE DATABASE "${db}"`);
  return {
    urls: Object.fromEntries(databases.map(([name, db]) => [name, `postgresql://postgres@127.0.0.1:5432/${db}`])),
    drop: async () => {
      for (const [, db] of databases) await admin(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    },
  };
}
