import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planesResponseSchema } from '../../schema/directory.ts';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startPlanes, type RunningPlanes } from '../../launcher/planes.ts';
import { parsePasswordFile } from '../../server/mosquitto/password-file.ts';
import { mosquittoInstalled } from '../mosquitto/mosquitto-process.ts';
import { waitUntil } from '../support/wait.ts';
import { mosquittoProcessesUnder } from '../support/processes.ts';

const logger = pino({ level: 'silent' });
const available = mosquittoInstalled();

describe('startPlanes with a Mosquitto missing', () => {
  it('refuses to start with a one-line error naming the binary, and starts nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-planes-nomosq-'));
    try {
      const config = launcherConfigSchema.parse({
        planes: true,
        planeBroker: 'mosquitto',
        mosquittoBin: join(dataDir, 'no-such-mosquitto'),
        regions: ['eu'],
        httpPort: 0,
        mqttPort: 0,
        dataDir,
        machines: 0,
      });
      await expect(startPlanes(config, process.env, logger)).rejects.toThrow(/no-such-mosquitto: not found; .*apt-get install mosquitto.*--mosquitto-bin/);
      expect(await readdir(join(dataDir, 'planes'))).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** Each plane's broker a Mosquitto of its own, its password file and ACL kept by the plane's server. */
describe.skipIf(!available)('startPlanes with --plane-broker mosquitto', () => {
  let dataDir = '';
  let planes: RunningPlanes | null = null;
  let fleet: Fleet | null = null;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-planes-mosq-'));
    const config = launcherConfigSchema.parse({
      planes: true,
      planeBroker: 'mosquitto',
      regions: ['eu', 'us'],
      httpPort: 0,
      mqttPort: 0,
      dataDir,
      machines: 0,
      logLevel: 'warn',
    });
    planes = await startPlanes(config, process.env, logger);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    await planes?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const passwordLines = async (region: string): Promise<string[]> => [
    ...parsePasswordFile(await readFile(join(dataDir, 'planes', region, 'mosquitto', 'passwd'), 'utf8')).keys(),
  ];
  const planeCounts = async () => {
    const response = await fetch(`${planes!.directoryUrl}/api/v1/directory/planes`, { headers: { authorization: `Bearer ${planes!.adminToken}` } });
    return planesResponseSchema.parse(await response.json()).planes;
  };

  it('machines log in at their home Mosquitto with their secrets; one sent to the other plane is refused there and moves home', async () => {
    const [eu, us] = planes!.planes;
    const machines = await provisionMachines({
      apiUrl: planes!.directoryUrl,
      token: planes!.adminToken,
      count: 8,
      regions: ['eu', 'us'],
      seed: 7,
      leaky: 2,
      throughDirectory: true,
    });
    expect(machines.every((m) => m.mqttUrl === (m.region === 'eu' ? eu!.mqttUrl : us!.mqttUrl))).toBe(true);
    // Each plane's password file: its ingest account and its own region's machines, no other.
    for (const region of ['eu', 'us']) {
      const lines = await passwordLines(region);
      expect(lines).toContain('svc-ingest');
      expect(new Set(lines.filter((name) => name !== 'svc-ingest'))).toEqual(new Set(machines.filter((m) => m.region === region).map((m) => m.deviceId)));
      for (const file of ['passwd', 'acl']) expect(((await stat(join(dataDir, 'planes', region, 'mosquitto', file))).mode & 0o777).toString(8)).toBe('600');
      // Deny by default, and ingest's events through the plane's $share group.
      const acl = await readFile(join(dataDir, 'planes', region, 'mosquitto', 'acl'), 'utf8');
      expect(acl).toContain(`user svc-ingest\ntopic read coffee/v1/+/evt/+\ntopic read $share/plane-${region}/coffee/v1/+/evt/+\n`);
      expect(JSON.parse(await readFile(join(dataDir, 'planes', `${region}.config.json`), 'utf8'))).toMatchObject({
        externalBroker: { username: 'svc-ingest', shareGroup: `plane-${region}` },
        server: { mosquitto: { aclFile: join(dataDir, 'planes', region, 'mosquitto', 'acl') } },
      });
    }
    // Two us machines (one MQTT 5, one 3.1.1) with eu's address, as a factory image copied between regions would give them.
    const usMachines = machines.filter((m) => m.region === 'us');
    const astray = [usMachines[0]!.deviceId, usMachines[1]!.deviceId];
    const fleetMachines = machines.map((m) =>
      astray.includes(m.deviceId) ? { ...m, mqttUrl: eu!.mqttUrl, mqttVersion: m.deviceId === astray[0] ? ('5' as const) : ('3.1.1' as const) } : m,
    );
    const running = createFleet(
      { machines: fleetMachines, seed: 7, speed: 100_000, directory: { url: planes!.directoryUrl, token: planes!.lookupToken } },
      logger,
    );
    fleet = running;
    await waitUntil('every machine connected', () => running.stats().connected === machines.length, 30_000);
    const stats = running.stats();
    expect(stats.relocated).toBe(2);
    expect(stats.redirected).toBe(0);
    // Mosquitto knows no directory: it refuses them as unknown (v5 0x87 not authorized, 3.1.1 CONNACK 5), and they ask the directory.
    expect(stats.refusals.connack['0x87']).toBeGreaterThanOrEqual(1);
    expect(stats.refusals.connack['0x05']).toBeGreaterThanOrEqual(1);
    await waitUntil('events stored in both planes', async () => (await planeCounts()).every((p) => (p.stored ?? 0) > 0), 30_000);
    // The refused logins at eu's Mosquitto carried nothing into eu: each astray machine is unknown there and has events at home.
    for (const id of astray) {
      const at = (url: string) => fetch(`${url}/api/v1/devices/${id}/events`, { headers: { authorization: `Bearer ${planes!.adminToken}` } });
      expect((await at(eu!.httpUrl)).status).toBe(404);
      expect((await at(us!.httpUrl)).status).toBe(200);
    }
  }, 90_000);

  it('an erasure at the home plane takes the device out of its Mosquitto password file', async () => {
    const [, us] = planes!.planes;
    const [victim] = (await passwordLines('us')).filter((name) => name !== 'svc-ingest');
    const erased = await fetch(`${us!.httpUrl}/api/v1/devices/${victim}`, { method: 'DELETE', headers: { authorization: `Bearer ${planes!.adminToken}` } });
    expect(erased.status).toBeLessThan(300);
    await waitUntil('the line removed', async () => !(await passwordLines('us')).includes(victim!), 10_000);
  });

  it('stops every Mosquitto it started', async () => {
    expect((await mosquittoProcessesUnder(dataDir)).length).toBe(2);
    await fleet?.stop();
    fleet = null;
    await planes!.stop();
    planes = null;
    expect(await mosquittoProcessesUnder(dataDir)).toEqual([]);
  }, 60_000);
});
