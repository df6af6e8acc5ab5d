import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { connectStore } from '../../../server/store/connect.ts';
import { readMigrations } from '../../../server/store/migration-files.ts';
import { parseStoreUrl } from '../../../server/store/store-url.ts';
import { createTempDatabases, postgresReachable } from './pg-temp-databases.ts';
import { describeStoreContract } from './region-store.contract.ts';
import pg from 'pg';

const available = await postgresReachable();
if (!available && process.env.CI === 'true') {
  throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432, and CI=true requires these tests to run');
}

describe.skipIf(!available)('postgres', () => {
  describeStoreContract('postgres', async () => {
    const { urls, drop } = await createTempDatabases(['dir', 'eu', 'us']);
    return {
      options: { regions: ['eu', 'us'], dataDir: 'unused', stores: { eu: urls.eu!, us: urls.us! }, directoryUrl: urls.dir! },
      dispose: drop,
    };
  });

  it('applies each migration once when servers start against one database at the same time', async () => {
    const { urls, drop } = await createTempDatabases(['race']);
    const url = urls.race!;
    try {
      const logger = pino({ level: 'silent' });
      const dbs = await Promise.all([1, 2, 3].map(() => connectStore(parseStoreUrl(url), logger)));
      await Promise.all(dbs.map((db) => db.client.$disconnect()));
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations');
      await client.end();
      expect(Number(rows[0]!.n)).toBe(readMigrations('postgres').length);
    } finally {
      await drop();
    }
  });
});
