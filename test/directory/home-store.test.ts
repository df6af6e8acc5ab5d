import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHomeStore, type HomeStore } from '../../server/directory/home-store.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';
import { logger, removeDir, tempDir } from './planes.ts';

const available = await postgresReachable();
if (!available && process.env.CI === 'true') {
  throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432, and CI=true requires these tests to run');
}

/** The directory's DeviceHome store, the same calls on both engines (migrated at open like every store). */
function contract(name: string, open: () => Promise<{ store: HomeStore; cleanup: () => Promise<void> }>): void {
  describe(name, () => {
    let store: HomeStore;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('records, looks up, counts per region and removes device homes', async () => {
      const createdAt = new Date('2026-12-02T12:00:00.000Z');
      await store.record([
        { deviceId: 'cm-home-a', region: 'eu', createdAt },
        { deviceId: 'cm-home-b', region: 'eu', createdAt },
        { deviceId: 'cm-home-c', region: 'us', createdAt },
      ]);
      expect(await store.lookup('cm-home-c')).toEqual({ deviceId: 'cm-home-c', region: 'us', createdAt });
      expect(await store.lookup('cm-home-x')).toBeNull();
      expect(await store.countByRegion()).toEqual(
        new Map([
          ['eu', 2],
          ['us', 1],
        ]),
      );
      await expect(store.record([{ deviceId: 'cm-home-a', region: 'us', createdAt }])).rejects.toThrow();
      expect((await store.lookup('cm-home-a'))?.region).toBe('eu');
      expect(await store.remove('cm-home-a')).toBe(true);
      expect(await store.remove('cm-home-a')).toBe(false);
      expect(await store.countByRegion()).toEqual(
        new Map([
          ['eu', 1],
          ['us', 1],
        ]),
      );
      await store.ping();
    });
  });
}

contract('home store on SQLite', async () => {
  const dir = await tempDir('home-store');
  return { store: await openHomeStore({ dataDir: dir }, logger), cleanup: () => removeDir(dir) };
});

describe.skipIf(!available)('postgres', () => {
  contract('home store on PostgreSQL', async () => {
    const { urls, drop } = await createTempDatabases(['homes']);
    return { store: await openHomeStore({ dataDir: 'unused', storeUrl: urls.homes }, logger), cleanup: drop };
  });
});
