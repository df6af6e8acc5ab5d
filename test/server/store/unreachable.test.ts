import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openStores } from '../../../server/store/open-stores.ts';
import { createTempDatabases, postgresReachable } from './pg-temp-databases.ts';
import { eventRow, newDeviceId } from './fixtures.ts';

const logger = pino({ level: 'silent' });
const pgAvailable = await postgresReachable();

describe('stores that cannot be reached or used', () => {
  it('rejects opening a PostgreSQL store nobody listens for', async () => {
    // Port 1 on loopback: refused at once, no server needed.
    const opening = openStores(
      {
        regions: ['eu'],
        dataDir: 'unused',
        stores: { eu: 'postgresql://postgres@127.0.0.1:1/nothing' },
        directoryUrl: 'postgresql://postgres@127.0.0.1:1/dir',
      },
      logger,
    );
    await expect(opening).rejects.toThrow();
  });

  it('rejects a URL of no known kind, and two stores on one database', async () => {
    await expect(openStores({ regions: ['eu'], dataDir: 'unused', stores: { eu: 'mysql://x/y' } }, logger)).rejects.toThrow(/file:<path>/);
    await expect(
      openStores({ regions: ['eu', 'us'], dataDir: 'unused', stores: { eu: 'file:/tmp/same.db', us: 'file:/tmp/same.db' } }, logger),
    ).rejects.toThrow(/same database/);
  });

  it.skipIf(!pgAvailable)('rejects calls once its PostgreSQL database is gone, without crashing', async () => {
    const { urls, drop } = await createTempDatabases(['dir', 'eu']);
    const stores = await openStores({ regions: ['eu'], dataDir: 'unused', stores: { eu: urls.eu! }, directoryUrl: urls.dir! }, logger);
    try {
      const eu = stores.regions.get('eu')!;
      await eu.ping();
      await drop();
      await expect(eu.ping()).rejects.toThrow();
      await expect(eu.insertEvents([eventRow(newDeviceId(), 1)])).rejects.toThrow();
      await expect(eu.counts()).rejects.toThrow();
    } finally {
      await stores.close();
      await drop();
    }
  });
});
