import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { readRegionStore } from '../support/sqlite-stores.ts';
import { tcpReachable } from '../support/tcp.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * The simulator and the server, unchanged, through the machine's Mosquitto (127.0.0.1:1883,
 * anonymous): standard MQTT is all they need from a broker. That Mosquitto is shared with other
 * runs, so every assertion is about this run's own devices, and everything this run leaves there
 * (persistent sessions, retained state and consent) is removed afterwards.
 */
const MOSQUITTO = { host: '127.0.0.1', port: 1883 };
const MOSQUITTO_URL = `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`;
const REGIONS = ['eu', 'us', 'cn'];
const TARGET_EVENTS = 150;

const mosquittoUp = await tcpReachable(MOSQUITTO.port, MOSQUITTO.host);
if (!mosquittoUp && process.env.CI === 'true') throw new Error(`Mosquitto is not reachable at ${MOSQUITTO_URL}`);

/** Ends a client's persistent session on Mosquitto and clears retained topics it owned. */
async function forget(clientId: string, retained: string[]): Promise<void> {
  const client = await mqtt.connectAsync(MOSQUITTO_URL, { clientId, clean: true, reconnectPeriod: 0, connectTimeout: 5_000 });
  for (const topic of retained) await client.publishAsync(topic, '', { qos: 1, retain: true });
  await client.endAsync();
}

describe.skipIf(!mosquittoUp).each([
  { name: 'MQTT 3.1.1', protocolVersion: 4 as const, mixed: false },
  { name: 'MQTT 5', protocolVersion: 5 as const, mixed: false },
  // Every other machine's credentials say "3.1.1"; the rest and the server speak MQTT 5.
  { name: 'a mixed fleet', protocolVersion: 5 as const, mixed: true },
])('fleet and ingest through Mosquitto, unchanged, $name', ({ protocolVersion, mixed }) => {
  const logger = pino({ level: 'silent' });
  const ingestClientId = `svc-interop-${randomBytes(6).toString('hex')}`;
  let dataDir: string;
  let server: RunningServer;
  let fleet: Fleet;
  let machines: MachineIdentity[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-mosquitto-'));
    const adminToken = randomBytes(18).toString('base64url');
    server = await startServer(
      serverConfigSchema.parse({
        regions: REGIONS,
        dataDir,
        http: { host: '127.0.0.1', port: 0 },
        adminToken,
        brokerToken: randomBytes(18).toString('base64url'),
        mqtt: { url: MOSQUITTO_URL, username: 'svc-interop', password: 'anonymous-is-allowed', clientId: ingestClientId, protocolVersion },
        logLevel: 'silent',
      }),
      logger,
    );
    await server.whenIngestReady();
    machines = await provisionMachines({
      apiUrl: server.httpUrl,
      token: adminToken,
      count: 6,
      regions: REGIONS,
      seed: Date.now() % 1_000_000,
      // Every owner consents to usage and diagnostics, so each region is sure to receive events.
      consentMix: { declineAll: 0, usage: 1, diagnostics: 1 },
    });
    if (mixed) machines = machines.map((m, i) => (i % 2 === 0 ? { ...m, mqttVersion: 4 as const } : m));
    fleet = await startFleet({ brokerUrl: MOSQUITTO_URL, machines, seed: 11, speed: 20_000, mqttVersion: protocolVersion }, logger);
    await fleet.whenPublished(TARGET_EVENTS, 60_000);
    await fleet.stop();
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.close();
    const cleanups = [
      forget(ingestClientId, []),
      ...machines.map((m) => forget(m.deviceId, [`coffee/v1/${m.deviceId}/state`, `coffee/v1/${m.deviceId}/consent`])),
    ];
    await Promise.allSettled(cleanups);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const ours = (): { stored: Map<string, string>; refused: number } => {
    const own = new Map(machines.map((m) => [m.deviceId, m.region]));
    const stored = new Map<string, string>();
    let refused = 0;
    for (const region of REGIONS) {
      const { events, refusals } = readRegionStore(dataDir, region);
      for (const e of events) if (own.has(e.deviceId)) stored.set(e.id, `${e.deviceId}@${region}`);
      refused += refusals.filter((r) => r.deviceId !== null && own.has(r.deviceId)).length;
    }
    return { stored, refused };
  };

  it('stores every event the fleet published through Mosquitto (stored + refused = published)', async () => {
    const published = fleet.stats().published;
    expect(published).toBeGreaterThanOrEqual(TARGET_EVENTS);
    await waitUntil(
      'ingest to account for every published event',
      () => {
        const { stored, refused } = ours();
        return stored.size + refused >= published;
      },
      30_000,
    );
    const { stored, refused } = ours();
    expect(stored.size + refused).toBe(published);
  });

  it("keeps each event in its device's home region only", () => {
    const home = new Map(machines.map((m) => [m.deviceId, m.region]));
    const misplaced = [...ours().stored.values()].filter((where) => {
      const [deviceId, region] = where.split('@');
      return home.get(deviceId!) !== region;
    });
    expect(misplaced).toEqual([]);
    const regionsWithEvents = new Set([...ours().stored.values()].map((w) => w.split('@')[1]));
    expect(regionsWithEvents.size).toBe(REGIONS.length);
  });
});
