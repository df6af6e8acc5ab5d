import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceListResponseSchema, healthResponseSchema, provisionDeviceResponseSchema } from '../../schema/api.ts';
import { directoryProvisionResponseSchema } from '../../schema/directory.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startPlanes, type RunningPlanes } from '../../launcher/planes.ts';

/** One plane per region, each a process of its own with its own store: what one holds, the other never sees. */
describe('startPlanes', () => {
  let dataDir = '';
  let planes: RunningPlanes | null = null;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-planes-'));
    const config = launcherConfigSchema.parse({ regions: ['eu', 'us'], httpPort: 0, mqttPort: 0, dataDir, machines: 0, logLevel: 'warn' });
    planes = await startPlanes(config, process.env, pino({ level: 'silent' }));
  }, 120_000);
  afterAll(async () => {
    await planes?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const api = async (url: string, init: RequestInit = {}): Promise<unknown> => {
    const response = await fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${planes!.adminToken}`, 'content-type': 'application/json', ...init.headers },
    });
    expect(response.status).toBeLessThan(300);
    return response.json();
  };

  it('runs each region in its own plane with its own store, and a device exists only in its home plane', async () => {
    const [eu, us] = planes!.planes;
    expect(eu!.region).toBe('eu');
    expect(us!.region).toBe('us');
    for (const plane of [eu!, us!]) {
      const health = healthResponseSchema.parse(await api(`${plane.httpUrl}/health`));
      expect(health.stores).toEqual([{ region: plane.region, state: 'up' }]);
      expect(plane.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    }
    const device = provisionDeviceResponseSchema.parse(await api(`${eu!.httpUrl}/api/v1/devices`, { method: 'POST', body: JSON.stringify({ region: 'eu' }) }));
    const listed = (url: string) => api(`${url}/api/v1/devices`).then((body) => deviceListResponseSchema.parse(body).devices.map((d) => d.id));
    expect(await listed(eu!.httpUrl)).toContain(device.id);
    expect(await listed(us!.httpUrl)).not.toContain(device.id);
    // Each plane's data folder holds its own region's store only, and its settings file is private.
    await expect(stat(join(dataDir, 'planes', 'eu', 'eu.db'))).resolves.toBeDefined();
    await expect(stat(join(dataDir, 'planes', 'us', 'eu.db'))).rejects.toThrow();
    expect(((await stat(join(dataDir, 'planes', 'eu.config.json'))).mode & 0o777).toString(8)).toBe('600');
    expect(await readFile(join(dataDir, 'planes', 'eu.config.json'), 'utf8')).not.toContain(planes!.adminToken);
  });

  it('provisions through the directory at the home plane, and an erasure there removes the directory’s entry', async () => {
    const [eu, us] = planes!.planes;
    const { directoryUrl, lookupToken } = planes!;
    const created = directoryProvisionResponseSchema.parse(
      await api(`${directoryUrl}/api/v1/directory/devices`, { method: 'POST', body: JSON.stringify({ region: 'us' }) }),
    );
    expect(created.apiUrl).toBe(us!.httpUrl);
    const listed = (url: string) => api(`${url}/api/v1/devices`).then((body) => deviceListResponseSchema.parse(body).devices.map((d) => d.id));
    expect(await listed(us!.httpUrl)).toContain(created.id);
    expect(await listed(eu!.httpUrl)).not.toContain(created.id);
    const lookup = () => fetch(`${directoryUrl}/api/v1/directory/devices/${created.id}`, { headers: { authorization: `Bearer ${lookupToken}` } });
    expect((await lookup()).status).toBe(200);

    const erased = await fetch(`${us!.httpUrl}/api/v1/devices/${created.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${planes!.adminToken}` } });
    expect(erased.status).toBeLessThan(300);
    expect((await lookup()).status).toBe(404);
  });
});
