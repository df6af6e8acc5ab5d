import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deviceEventsResponseSchema,
  deviceListResponseSchema,
  healthResponseSchema,
  provisionDeviceResponseSchema,
  regionsResponseSchema,
} from '../../schema/api.ts';
import { consentRecordSchema } from '../../schema/consent.ts';
import { directoryProvisionResponseSchema } from '../../schema/directory.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startPlanes, type RunningPlanes } from '../../launcher/planes.ts';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';
import { createEnvelopeFactory } from '../../firmware-sim/envelope.ts';
import { createRng } from '../../firmware-sim/random.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';

/** One plane per region, each a process of its own with its own store: what one holds, the other never sees. */
describe('startPlanes', () => {
  let dataDir = '';
  let planes: RunningPlanes | null = null;
  let fleet: Fleet | null = null;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-planes-'));
    const config = launcherConfigSchema.parse({ regions: ['eu', 'us'], httpPort: 0, mqttPort: 0, dataDir, machines: 0, logLevel: 'warn' });
    planes = await startPlanes(config, process.env, pino({ level: 'silent' }));
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
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

  it('sets the owners’ consent at the home plane, not through the directory, and the plane enforces it', async () => {
    const { directoryUrl, lookupToken } = planes!;
    // Every owner says yes to usage and no to the rest.
    const machines = await provisionMachines({
      apiUrl: directoryUrl,
      token: planes!.adminToken,
      count: 4,
      regions: ['eu', 'us'],
      seed: 11,
      consentMix: { declineAll: 0, usage: 1, diagnostics: 0, payment: 0, location: { none: 1, coarse: 0, exact: 0 } },
      throughDirectory: true,
    });
    const planeOf = (region: string) => planes!.planes.find((p) => p.region === region)!;
    for (const machine of machines) {
      const detail = (await api(`${planeOf(machine.region).httpUrl}/api/v1/devices/${machine.deviceId}`)) as { consent: unknown };
      // Version 1 is the plane's own (nothing consented), version 2 the owner's choice, set there.
      expect(consentRecordSchema.parse(detail.consent)).toMatchObject({
        version: 2,
        categories: { usage: true, location: 'none', payment: false, diagnostics: false },
      });
    }
    const running = createFleet({ machines, seed: 11, speed: 100_000, directory: { url: directoryUrl, token: lookupToken } }, pino({ level: 'silent' }));
    fleet = running;
    const regionOf = async (region: string) =>
      regionsResponseSchema.parse(await api(`${planeOf(region).httpUrl}/api/v1/regions`)).regions.find((r) => r.region === region)!;
    // Compliant firmware applies the record its plane pushed: brews only, and stored (nothing would be under version 1).
    await waitUntil(
      'brews stored at both planes',
      async () => (await Promise.all(['eu', 'us'].map(regionOf))).every((r) => (r.eventsByKind.brew ?? 0) > 0),
      30_000,
      250,
    );
    await running.stop();
    fleet = null;
    for (const machine of machines) {
      const { events } = deviceEventsResponseSchema.parse(await api(`${planeOf(machine.region).httpUrl}/api/v1/devices/${machine.deviceId}/events?limit=1000`));
      expect(events.every((e) => e.kind === 'brew')).toBe(true);
    }
    // The plane enforces the choice too: a fault (diagnostics, not consented) sent with the machine's own credentials is refused.
    const [first] = machines;
    const before = (await regionOf(first!.region)).refusedByReason.not_consented ?? 0;
    const client = await mqtt.connectAsync(planeOf(first!.region).mqttUrl, {
      clientId: first!.deviceId,
      username: first!.deviceId,
      password: first!.secret,
      reconnectPeriod: 0,
    });
    try {
      const envelope = createEnvelopeFactory(first!.deviceId, createRng(5))(
        'fault',
        { code: 'water_empty', severity: 'warning', cleared: false },
        Date.now(),
        2,
      );
      await client.publishAsync(topics.event(first!.deviceId, 'fault'), JSON.stringify({ ...envelope, seq: 1_000_000 }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await waitUntil(
      'the fault refused as not consented',
      async () => ((await regionOf(first!.region)).refusedByReason.not_consented ?? 0) > before,
      15_000,
      100,
    );
  }, 60_000);
});
