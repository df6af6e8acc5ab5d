import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceListResponseSchema, errorBodySchema, provisionDeviceResponseSchema } from '../../schema/api.ts';
import { consentRecordSchema, NO_CONSENT } from '../../schema/consent.ts';
import { deviceHomeSchema, directoryProvisionBatchResponseSchema, directoryProvisionResponseSchema, planesResponseSchema } from '../../schema/directory.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, LOOKUP, planeAdmin, planeOf, planeOperator, removeDir, startPlane, startTestDirectory, tempDir } from './planes.ts';

const CONSENT = { usage: true, location: 'coarse', payment: false, diagnostics: true } as const;

/**
 * Two real planes (a server for eu, one for us, each with its own SQLite stores) and a real global
 * directory in front of them, all over real sockets on port 0.
 */
describe('the global directory in front of two planes', () => {
  let root: string;
  let eu: RunningServer;
  let us: RunningServer;
  let directory: RunningDirectory;
  const secrets: string[] = [];

  beforeAll(async () => {
    root = await tempDir('directory');
    [eu, us] = await Promise.all([startPlane('eu', join(root, 'eu')), startPlane('us', join(root, 'us'))]);
    directory = await startTestDirectory(join(root, 'directory'), [planeOf('eu', eu), planeOf('us', us)]);
  });
  afterAll(async () => {
    await directory?.close();
    await Promise.all([eu?.close(), us?.close()]);
    await removeDir(root);
  });

  const dir = (method: string, path: string, token: string | undefined = DIRECTORY_ADMIN, body?: unknown) => call(directory.url, method, path, token, body);
  const planeDevices = async (server: RunningServer, region: string): Promise<string[]> =>
    deviceListResponseSchema.parse((await call(server.httpUrl, 'GET', '/api/v1/devices', planeAdmin(region))).json).devices.map((d) => d.id);

  it('provisions one device in its home plane with nothing consented, and answers with that plane’s endpoints and no consent record', async () => {
    const answer = await dir('POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'eu' });
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.json as object).sort()).toEqual(['apiUrl', 'id', 'mqttUrl', 'region', 'secret']);
    const device = directoryProvisionResponseSchema.parse(answer.json);
    secrets.push(device.secret);
    expect(device).toMatchObject({ region: 'eu', mqttUrl: 'mqtt://eu.planes.test:1883', apiUrl: eu.httpUrl });
    expect(await planeDevices(eu, 'eu')).toContain(device.id);
    expect(await planeDevices(us, 'us')).not.toContain(device.id);
    // Privacy by default at the plane: its first record consents to nothing.
    const detail = (await call(eu.httpUrl, 'GET', `/api/v1/devices/${device.id}`, planeAdmin('eu'))).json as { consent: unknown };
    expect(consentRecordSchema.parse(detail.consent)).toMatchObject({ version: 1, categories: NO_CONSENT });

    const home = await dir('GET', `/api/v1/directory/devices/${device.id}`, LOOKUP);
    expect(home.status).toBe(200);
    expect(deviceHomeSchema.parse(home.json)).toEqual({ deviceId: device.id, region: 'eu', mqttUrl: 'mqtt://eu.planes.test:1883', apiUrl: eu.httpUrl });
  });

  it('provisions a batch across both regions, each device only in its home plane, in request order, with no consent record in the answer', async () => {
    const requests = Array.from({ length: 7 }, (_, i) => ({ region: i % 3 === 0 ? 'us' : 'eu' }));
    const answer = await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: requests });
    expect(answer.status).toBe(201);
    expect(JSON.stringify(answer.json)).not.toContain('consent');
    const { devices, failed } = directoryProvisionBatchResponseSchema.parse(answer.json);
    expect(failed).toEqual([]);
    expect(devices.map((d) => d.region)).toEqual(requests.map((r) => r.region));
    secrets.push(...devices.map((d) => d.secret));
    const [inEu, inUs] = await Promise.all([planeDevices(eu, 'eu'), planeDevices(us, 'us')]);
    for (const device of devices) {
      const [home, other] = device.region === 'eu' ? [inEu, inUs] : [inUs, inEu];
      expect(home).toContain(device.id);
      expect(other).not.toContain(device.id);
      expect(device.apiUrl).toBe(device.region === 'eu' ? eu.httpUrl : us.httpUrl);
      expect(deviceHomeSchema.parse((await dir('GET', `/api/v1/directory/devices/${device.id}`, LOOKUP)).json).region).toBe(device.region);
    }
  });

  it('keeps no secret and nothing but id, region and time in its store', async () => {
    const folder = join(root, 'directory');
    const files = readdirSync(folder).filter((f) => f.startsWith('device-homes.db'));
    expect(files).toContain('device-homes.db');
    const bytes = Buffer.concat(files.map((f) => readFileSync(join(folder, f))));
    expect(secrets.length).toBe(8);
    for (const secret of secrets) expect(bytes.includes(Buffer.from(secret))).toBe(false);

    const db = new Database(join(folder, 'device-homes.db'), { readonly: true });
    try {
      const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all('DeviceHome') as { name: string }[]).map((c) => c.name);
      expect(columns.sort()).toEqual(['createdAt', 'deviceId', 'region']);
      expect((db.prepare('SELECT COUNT(*) AS n FROM DeviceHome').get() as { n: number }).n).toBe(8);
      // The store shares the plane's schema; the tables of consent, owners and events stay empty here.
      for (const table of ['DirectoryEntry', 'Device', 'Owner', 'ConsentRecord', 'Event']) {
        expect((db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n).toBe(0);
      }
    } finally {
      db.close();
    }
  });

  it('answers coded errors: unknown device, unknown region, wrong tokens', async () => {
    expect(await dir('GET', '/api/v1/directory/devices/cm-nosuchdevice', LOOKUP)).toMatchObject({ status: 404, json: { code: 'DEVICE_NOT_FOUND' } });
    expect(await dir('POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'cn' })).toMatchObject({ status: 400, json: { code: 'UNKNOWN_REGION' } });
    expect(await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'eu' }, { region: 'cn' }] })).toMatchObject({
      status: 400,
      json: { code: 'UNKNOWN_REGION' },
    });
    const batchTooLarge = await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, {
      devices: Array.from({ length: 1_001 }, () => ({ region: 'eu' })),
    });
    expect(batchTooLarge).toMatchObject({ status: 400, json: { code: 'BATCH_TOO_LARGE' } });
    expect(await dir('POST', '/api/v1/directory/devices', LOOKUP, { region: 'eu' })).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
    expect(await dir('GET', '/api/v1/directory/devices/cm-nosuchdevice', '')).toMatchObject({ status: 401, json: { code: 'UNAUTHORIZED' } });
    expect(await dir('GET', '/api/v1/directory/planes', LOOKUP)).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
    // Consent is the home plane's business: refused with a code saying so, in a single call and in any entry of a batch, before anything is provisioned.
    const devicesBefore = (await planeDevices(eu, 'eu')).length;
    for (const [path, body] of [
      ['/api/v1/directory/devices', { region: 'eu', consent: CONSENT }],
      ['/api/v1/directory/devices:batch', { devices: [{ region: 'eu' }, { region: 'eu', consent: CONSENT }] }],
    ] as const) {
      const refused = await dir('POST', path, DIRECTORY_ADMIN, body);
      expect(refused).toMatchObject({ status: 400, json: { code: 'CONSENT_AT_HOME_PLANE' } });
      expect(errorBodySchema.parse(refused.json).message).toContain('/api/v1/devices/consent:batch');
    }
    expect((await planeDevices(eu, 'eu')).length).toBe(devicesBefore);
    const bad = await dir('POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'eu', owner: 'Ada' });
    expect(bad.status).toBe(400);
    expect(errorBodySchema.parse(bad.json).code).toBe('VALIDATION_FAILED');
    // The plane's own tokens are not the directory's (and the other way round).
    expect(await dir('POST', '/api/v1/directory/devices', planeAdmin('eu'), { region: 'eu' })).toMatchObject({ status: 401 });
  });

  it('lets a plane remove its own region’s device after an erasure, not another region’s', async () => {
    const { json } = await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'eu' }, { region: 'us' }] });
    const [euDevice, usDevice] = directoryProvisionBatchResponseSchema.parse(json).devices;
    if (!euDevice || !usDevice) throw new Error('the batch provisioned fewer devices than asked');
    expect(await dir('DELETE', `/api/v1/directory/devices/${usDevice.id}`, planeOperator('eu'))).toMatchObject({
      status: 403,
      json: { code: 'REGION_FORBIDDEN' },
    });
    expect(await dir('DELETE', `/api/v1/directory/devices/${euDevice.id}`, LOOKUP)).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
    expect((await dir('DELETE', `/api/v1/directory/devices/${euDevice.id}`, planeOperator('eu'))).status).toBe(204);
    expect((await dir('DELETE', `/api/v1/directory/devices/${euDevice.id}`, planeOperator('eu'))).status).toBe(204);
    expect(await dir('GET', `/api/v1/directory/devices/${euDevice.id}`, LOOKUP)).toMatchObject({ status: 404, json: { code: 'DEVICE_NOT_FOUND' } });
    // A plane's token may look up devices of other regions: its broker redirects them home.
    expect(deviceHomeSchema.parse((await dir('GET', `/api/v1/directory/devices/${usDevice.id}`, planeOperator('eu'))).json).region).toBe('us');
  });

  it('shows every plane with its health and counts, and the devices per region it recorded', async () => {
    const { status, json } = await dir('GET', '/api/v1/directory/planes');
    expect(status).toBe(200);
    const { planes } = planesResponseSchema.parse(json);
    // No broker is attached to these planes, so their health says degraded (mqtt disconnected), not down.
    expect(planes).toEqual([
      { region: 'eu', mqttUrl: 'mqtt://eu.planes.test:1883', apiUrl: eu.httpUrl, state: 'degraded', stored: 0, refused: 0, devices: 5 },
      { region: 'us', mqttUrl: 'mqtt://us.planes.test:1883', apiUrl: us.httpUrl, state: 'degraded', stored: 0, refused: 0, devices: 4 },
    ]);
    expect(await dir('GET', '/health', '')).toEqual({ status: 200, json: { status: 'ok', store: 'up' } });
  });

  it('answers 503 for a stopped plane’s region only; the other region keeps provisioning', async () => {
    await us.close();
    expect(await dir('POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'us' })).toMatchObject({
      status: 503,
      json: { code: 'PLANE_UNAVAILABLE' },
    });
    expect((await dir('POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region: 'eu' })).status).toBe(201);

    const mixed = await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'us' }, { region: 'eu' }, { region: 'us' }] });
    expect(mixed.status).toBe(207);
    const { devices, failed } = directoryProvisionBatchResponseSchema.parse(mixed.json);
    expect(devices.map((d) => d.region)).toEqual(['eu']);
    expect(failed).toEqual([
      { region: 'us', indexes: [0, 2], error: { statusCode: 503, code: 'PLANE_UNAVAILABLE', message: expect.stringContaining('region us') } },
    ]);
    expect(await planeDevices(eu, 'eu')).toContain(devices[0]!.id);
    expect(await dir('POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, { devices: [{ region: 'us' }] })).toMatchObject({
      status: 503,
      json: { code: 'PLANE_UNAVAILABLE' },
    });

    const { planes } = planesResponseSchema.parse((await dir('GET', '/api/v1/directory/planes')).json);
    expect(planes.find((p) => p.region === 'us')).toMatchObject({ state: 'down', stored: null, refused: null, devices: 4 });
    expect(planes.find((p) => p.region === 'eu')).toMatchObject({ state: 'degraded', stored: 0, devices: 7 });
  });

  it('leaves the planes working when the directory is down', async () => {
    await directory.close();
    await expect(fetch(`${directory.url}/health`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    const direct = await call(eu.httpUrl, 'POST', '/api/v1/devices', planeOperator('eu'), { region: 'eu' });
    expect(direct.status).toBe(201);
    expect(await planeDevices(eu, 'eu')).toContain(provisionDeviceResponseSchema.parse(direct.json).id);
  });
});
