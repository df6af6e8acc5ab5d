import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import type { PlaneConfigInput } from '../../broker/config.ts';
import { createFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import type { MachineIdentity } from '../../firmware-sim/fleet-options.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { startDirectoryDouble, type DirectoryDouble } from '../support/directory-double.ts';
import { waitFor } from './aedes-server.ts';

const logger = pino({ level: 'silent' });
const SECRET = 'plane-secret-0123456789';
const EU_V5 = 'cm-fp-eu-v5';
const EU_V311 = 'cm-fp-eu-v311';
const EU_HOME = 'cm-fp-eu-home';
/** Not in the big fleet: the machine of the broker-without-a-directory case. */
const EU_SPARE = 'cm-fp-eu-spare';
const US_V5 = 'cm-fp-us-v5';
const US_V311 = 'cm-fp-us-v311';
/** In no registry and not in the directory. */
const NOWHERE = 'cm-fp-nowhere';

interface Watcher {
  client: mqtt.MqttClient;
  /** Device ids of the events seen, in arrival order. */
  seen: string[];
}

async function watch(url: string, name: string): Promise<Watcher> {
  const client = await mqtt.connectAsync(url, { clientId: `svc-fp-${name}`, username: INGEST.username, password: INGEST.password, reconnectPeriod: 0 });
  const watcher: Watcher = { client, seen: [] };
  client.on('message', (_topic, payload) => watcher.seen.push((JSON.parse(payload.toString()) as { deviceId: string }).deviceId));
  await client.subscribeAsync(topics.filters.allEvents, { qos: 1 });
  return watcher;
}

const count = (watcher: Watcher, deviceId: string): number => watcher.seen.filter((id) => id === deviceId).length;

/**
 * A fleet whose machines were given the wrong plane's URL, against two of our brokers as the planes
 * eu and us (each with a registry of its own region's devices only) and a directory double. MQTT 5
 * machines follow the 0x9C reference, 3.1.1 machines ask the directory; each ends at its home plane
 * and nothing of it is accepted at the other. Then the directory goes away and eu restarts: its
 * machines come back to it on their own.
 */
describe('machines at the wrong plane end up at home', () => {
  let euRegistry: DeviceRegistry;
  let usRegistry: DeviceRegistry;
  let directory: DirectoryDouble;
  let eu: TcpBroker;
  let us: TcpBroker;
  let atEu: Watcher;
  let atUs: Watcher;
  let fleet: Fleet;

  const plane = (region: string): PlaneConfigInput => ({ region, directory: { url: directory.url, token: directory.token, timeoutMs: 1_000 } });

  beforeAll(async () => {
    const devices = (region: string, ids: string[]) => Object.fromEntries(ids.map((id) => [id, { secret: SECRET, region }]));
    euRegistry = await startDeviceRegistry(devices('eu', [EU_V5, EU_V311, EU_HOME, EU_SPARE]));
    usRegistry = await startDeviceRegistry(devices('us', [US_V5, US_V311]));
    directory = await startDirectoryDouble();
    eu = await brokerFor(euRegistry, logger, { plane: plane('eu') });
    us = await brokerFor(usRegistry, logger, { plane: plane('us') });
    for (const id of [EU_V5, EU_V311, EU_HOME, EU_SPARE]) directory.place(id, 'eu', eu.mqttUrl);
    for (const id of [US_V5, US_V311]) directory.place(id, 'us', us.mqttUrl);
    atEu = await watch(eu.mqttUrl, 'eu');
    atUs = await watch(us.mqttUrl, 'us');
  });
  afterAll(async () => {
    await fleet?.stop();
    await atEu?.client.endAsync(true);
    await atUs?.client.endAsync(true);
    await eu?.close();
    await us?.close();
    await directory?.close();
    await euRegistry?.close();
    await usRegistry?.close();
  });

  it('v5 machines follow 0x9C, 3.1.1 machines ask the directory; each publishes at home only; an unknown machine is refused, not moved', async () => {
    // Leaky firmware publishes without waiting for a consent record, so events flow at once.
    const machine = (deviceId: string, region: string, mqttVersion: 4 | 5, mqttUrl?: string): MachineIdentity => ({
      deviceId,
      secret: SECRET,
      region,
      profile: 'leaky',
      usage: 'cafe',
      mqttVersion,
      ...(mqttUrl === undefined ? {} : { mqttUrl }),
    });
    fleet = createFleet(
      {
        // The fleet's URL, for the machines without their own: the wrong plane for US_V311.
        brokerUrl: eu.mqttUrl,
        directory: { url: directory.url, token: directory.token },
        seed: 16,
        speed: 100_000,
        machines: [
          machine(EU_V5, 'eu', 5, us.mqttUrl),
          machine(EU_V311, 'eu', 4, us.mqttUrl),
          machine(EU_HOME, 'eu', 5, eu.mqttUrl),
          machine(US_V5, 'us', 5, eu.mqttUrl),
          machine(US_V311, 'us', 4),
          machine(NOWHERE, 'us', 4, us.mqttUrl),
        ],
      },
      logger,
    );
    const f = fleet;
    await waitFor(
      () =>
        [EU_V5, EU_V311, EU_HOME].every((id) => count(atEu, id) >= 3) &&
        [US_V5, US_V311].every((id) => count(atUs, id) >= 3) &&
        (directory.lookups.get(NOWHERE) ?? 0) >= 1,
      20_000,
      'every known machine publishing at its home plane',
    );
    const stats = f.stats();
    expect(stats.connected).toBe(5);
    expect(stats.redirected).toBe(2);
    expect(stats.relocated).toBe(2);
    expect(stats.refusals.connack['0x04']).toBeGreaterThanOrEqual(1);
    // Nothing of a device reached the other plane's subscribers, and the brokers counted the misdirected.
    expect(atUs.seen.filter((id) => id.startsWith('cm-fp-eu') || id === NOWHERE)).toEqual([]);
    expect(atEu.seen.filter((id) => id.startsWith('cm-fp-us'))).toEqual([]);
    expect(us.stats().misdirected).toBeGreaterThanOrEqual(2);
    expect(eu.stats().misdirected).toBeGreaterThanOrEqual(2);
    // Each plane: its machines plus the (3.1.1) watcher.
    expect(eu.stats().connectionsByProtocol).toEqual({ '3.1.1': 2, '5': 2 });
    expect(us.stats().connectionsByProtocol).toEqual({ '3.1.1': 2, '5': 1 });
  }, 30_000);

  it('a v5 machine at a broker without a directory of its own (refused 0x86) asks the directory and moves home', async () => {
    const plain = await brokerFor(usRegistry, logger);
    const machines: MachineIdentity[] = [{ deviceId: EU_SPARE, secret: SECRET, region: 'eu', profile: 'leaky', usage: 'cafe', mqttVersion: 5 }];
    const lone = createFleet(
      { brokerUrl: plain.mqttUrl, directory: { url: directory.url, token: directory.token }, seed: 5, speed: 100_000, machines },
      logger,
    );
    try {
      await waitFor(() => lone.stats().connected === 1, 15_000, 'the machine connected');
      expect(lone.stats()).toMatchObject({ relocated: 1, redirected: 0, refusals: { connack: { '0x86': 1 } } });
      expect(plain.stats().messagesIn).toBe(0);
    } finally {
      await lone.stop();
      await plain.close();
    }
  }, 30_000);

  it('directory gone: after its broker restarts, every eu machine reconnects to eu on its own', async () => {
    const lookupsBefore = [...directory.lookups.values()].reduce((a, b) => a + b, 0);
    const misdirectedAtUs = us.stats().misdirected;
    await directory.close();
    const port = eu.tcpPort;
    await atEu.client.endAsync(true);
    await eu.close();
    eu = await brokerFor(euRegistry, logger, { tcpPort: port, plane: plane('eu') });
    atEu = await watch(eu.mqttUrl, 'eu-again');
    await waitFor(() => [EU_V5, EU_V311, EU_HOME].every((id) => count(atEu, id) >= 2), 20_000, 'eu machines publishing at eu again');
    expect(fleet.stats().connected).toBe(5);
    expect(eu.stats().misdirected).toBe(0);
    // They went straight home, though two were first given the us broker's URL: us never had to send
    // one of them away again (it remembers where they live), and saw nothing of them.
    expect(us.stats().misdirected).toBe(misdirectedAtUs);
    expect(atUs.seen.filter((id) => id.startsWith('cm-fp-eu'))).toEqual([]);
    expect([...directory.lookups.values()].reduce((a, b) => a + b, 0)).toBe(lookupsBefore);
  }, 30_000);
});

describe('machines provisioned through the directory', () => {
  let directory: DirectoryDouble | undefined;
  afterAll(async () => {
    await directory?.close();
  });

  it("carry their home plane's MQTT URL, which a fleet uses over (or without) its brokerUrl, and have their consent set at that plane", async () => {
    directory = await startDirectoryDouble();
    directory.planes.set('eu', 'mqtt://127.0.0.1:41883');
    directory.planes.set('us', 'mqtts://us.plane.test:8883');
    const machines = await provisionMachines({
      apiUrl: directory.url,
      token: directory.token,
      count: 4,
      regions: ['eu', 'us'],
      seed: 3,
      throughDirectory: true,
    });
    expect(machines.map((m) => [m.region, m.mqttUrl])).toEqual([
      ['eu', 'mqtt://127.0.0.1:41883'],
      ['us', 'mqtts://us.plane.test:8883'],
      ['eu', 'mqtt://127.0.0.1:41883'],
      ['us', 'mqtts://us.plane.test:8883'],
    ]);
    // The directory heard regions only; each owner's choice went to the machine's home plane API.
    expect(directory.provisionBodies.join('')).not.toContain('consent');
    expect(directory.consents.size).toBeGreaterThan(0);
    for (const [id, { region }] of directory.consents) expect(machines.find((m) => m.deviceId === id)?.region).toBe(region);
    const { mqttUrl: _, ...withoutUrl } = machines[0]!;
    expect(() => createFleet({ machines: [withoutUrl], seed: 1, speed: 1 }, logger)).toThrow(/brokerUrl/);
  });
});
