import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceListResponseSchema } from '../../schema/api.ts';
import { directoryProvisionBatchResponseSchema } from '../../schema/directory.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, planeAdmin, planeOf, removeDir, startPlane, startTestDirectory, tempDir } from './planes.ts';

/**
 * The directory's own store refusing writes (its SQLite file locked by another connection, as a
 * stuck backup would): a device the plane made but the directory could not record is taken back from
 * the plane, so no device exists that no lookup can route.
 */
describe('the directory store out of service', () => {
  let root: string;
  let eu: RunningServer;
  let directory: RunningDirectory;

  beforeAll(async () => {
    root = await tempDir('directory-outage');
    eu = await startPlane('eu', join(root, 'eu'));
    directory = await startTestDirectory(join(root, 'directory'), [planeOf('eu', eu)]);
  });
  afterAll(async () => {
    await directory?.close();
    await eu?.close();
    await removeDir(root);
  });

  const euDevices = async (): Promise<string[]> =>
    deviceListResponseSchema.parse((await call(eu.httpUrl, 'GET', '/api/v1/devices', planeAdmin('eu'))).json).devices.map((d) => d.id);

  it('answers 503 STORE_UNAVAILABLE and leaves no device behind in the plane, then provisions again once the lock is gone', async () => {
    const before = await euDevices();
    const lock = new Database(join(root, 'directory', 'device-homes.db'));
    try {
      lock.exec('BEGIN EXCLUSIVE');
      expect(await call(directory.url, 'POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'eu' })).toMatchObject({
        status: 503,
        json: { code: 'STORE_UNAVAILABLE' },
      });
      expect(
        await call(directory.url, 'POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'eu' }, { region: 'eu' }] }),
      ).toMatchObject({
        status: 503,
        json: { code: 'STORE_UNAVAILABLE' },
      });
      expect(await euDevices()).toEqual(before);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    const again = await call(directory.url, 'POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'eu' }] });
    expect(again.status).toBe(201);
    expect(await euDevices()).toContain(directoryProvisionBatchResponseSchema.parse(again.json).devices[0]!.id);
  });
});
