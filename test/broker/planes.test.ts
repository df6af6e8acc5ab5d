import { createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import type { PlaneConfigInput } from '../../broker/config.ts';
import { topics } from '../../schema/topics.ts';
import { startDirectoryDouble, type DirectoryDouble } from '../support/directory-double.ts';
import { brokerFor, captureLogs, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient } from './support.ts';

const EU_DEVICE = 'cm-pl-eu-one';
const EU_DEVICE_OLD = 'cm-pl-eu-old';
const US_DEVICE = 'cm-pl-us-one';
const NOWHERE = 'cm-pl-nowhere';
const SECRET = 'plane-secret-0123456789';

/**
 * Two of our brokers as the planes eu and us, each in front of its own registry (which knows only
 * its region's devices), and a directory double that knows where every device lives. A device at
 * the wrong plane is turned away before anything it sends is accepted.
 */
describe('a plane broker turns away devices of another plane', () => {
  let euRegistry: DeviceRegistry;
  let usRegistry: DeviceRegistry;
  let directory: DirectoryDouble;
  let eu: TcpBroker;
  let us: TcpBroker;
  let watcher: mqtt.MqttClient;
  const seenAtUs: string[] = [];
  const usLogs = captureLogs();
  const raws: RawClient[] = [];

  const plane = (region: string, overrides: Partial<PlaneConfigInput['directory']> = {}): PlaneConfigInput => ({
    region,
    directory: { url: directory.url, token: directory.token, timeoutMs: 1_000, ...overrides },
  });

  beforeAll(async () => {
    euRegistry = await startDeviceRegistry({ [EU_DEVICE]: { secret: SECRET, region: 'eu' }, [EU_DEVICE_OLD]: { secret: SECRET, region: 'eu' } });
    usRegistry = await startDeviceRegistry({ [US_DEVICE]: { secret: SECRET, region: 'us' } });
    directory = await startDirectoryDouble();
    eu = await brokerFor(euRegistry, captureLogs().logger, { plane: plane('eu') });
    // Throttle thresholds low enough that counting misdirected logins as failures would show.
    us = await brokerFor(usRegistry, usLogs.logger, { plane: plane('us'), authThrottle: { slowAfter: 2, refuseAfter: 3, delayMs: 10 } });
    for (const id of [EU_DEVICE, EU_DEVICE_OLD]) directory.place(id, 'eu', eu.mqttUrl);
    directory.place(US_DEVICE, 'us', us.mqttUrl);
    watcher = await mqtt.connectAsync(us.mqttUrl, { clientId: 'svc-pl-watch', username: INGEST.username, password: INGEST.password, reconnectPeriod: 0 });
    watcher.on('message', (topic) => seenAtUs.push(topic));
    await watcher.subscribeAsync([topics.filters.allEvents, topics.filters.allStates], { qos: 1 });
  });
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    directory.down = false;
  });
  afterAll(async () => {
    await watcher?.endAsync(true);
    await us?.close();
    await eu?.close();
    await directory?.close();
    await usRegistry?.close();
    await euRegistry?.close();
  });

  /** CONNECT and, in the same write burst, a PUBLISH: a broker that let it through would deliver it. */
  const pushy = (port: number, deviceId: string, version: 4 | 5, secret = SECRET): RawClient => {
    const raw = rawClient(port, { clientId: deviceId, username: deviceId, password: secret, version });
    raws.push(raw);
    raw.socket.once('connect', () =>
      setImmediate(() =>
        raw.send({ cmd: 'publish', topic: topics.event(deviceId, 'brew'), payload: Buffer.from('{}'), qos: 1, messageId: 1, retain: false, dup: false }),
      ),
    );
    return raw;
  };

  it('MQTT 5: CONNACK 0x9C with the home plane as Server Reference, and nothing it sent is accepted', async () => {
    const before = us.stats();
    const raw = pushy(us.tcpPort, EU_DEVICE, 5);
    const connack = await raw.connack;
    expect(connack.reasonCode).toBe(0x9c);
    expect(connack.properties?.serverReference).toBe(eu.mqttUrl);
    await raw.closed;
    const after = us.stats();
    expect(after.misdirected - before.misdirected).toBe(1);
    expect(after.messagesIn).toBe(before.messagesIn);
    expect(after.authFailures).toBe(before.authFailures);
    expect(raw.packets.map((p) => p.cmd)).toEqual(['connack']);
    // The home plane lets it in with the same credentials.
    const home = rawClient(eu.tcpPort, { clientId: EU_DEVICE, username: EU_DEVICE, password: SECRET, version: 5 });
    raws.push(home);
    expect((await home.connack).reasonCode).toBe(0);
    expect(seenAtUs.filter((t) => t.includes(EU_DEVICE))).toEqual([]);
  });

  it('MQTT 3.1.1: CONNACK 3 (it cannot be told where to go), counted as misdirected', async () => {
    const before = us.stats().misdirected;
    const raw = pushy(us.tcpPort, EU_DEVICE_OLD, 4);
    expect((await raw.connack).returnCode).toBe(3);
    await raw.closed;
    expect(us.stats().misdirected - before).toBe(1);
    expect(seenAtUs.filter((t) => t.includes(EU_DEVICE_OLD))).toEqual([]);
    // Logged with the region and where it belongs, never its secret.
    const line = usLogs.lines.find((l) => l.includes('sent home') && l.includes(EU_DEVICE_OLD));
    expect(line).toContain('"homeRegion":"eu"');
    expect(usLogs.lines.join('\n')).not.toContain(SECRET);
  });

  it('misdirected logins are not failures for the throttle, and the directory is asked once per device while its answer is cached', async () => {
    const lookups = directory.lookups.get(EU_DEVICE) ?? 0;
    for (let i = 0; i < 5; i++) {
      const raw = rawClient(us.tcpPort, { clientId: EU_DEVICE, username: EU_DEVICE, password: SECRET, version: 5 });
      raws.push(raw);
      expect((await raw.connack).reasonCode).toBe(0x9c);
    }
    // The first test looked it up already; the answer is still cached.
    expect(directory.lookups.get(EU_DEVICE) ?? 0).toBe(lookups);
    expect(us.stats().authThrottled).toBe(0);
  });

  it('a device unknown to the directory too is refused as usual, never redirected', async () => {
    const before = us.stats();
    const v5 = pushy(us.tcpPort, NOWHERE, 5);
    expect((await v5.connack).reasonCode).toBe(0x86);
    expect((await v5.connack).properties?.serverReference).toBeUndefined();
    const v311 = pushy(us.tcpPort, `${NOWHERE}-2`, 4);
    expect((await v311.connack).returnCode).toBe(4);
    await Promise.all([v5.closed, v311.closed]);
    const after = us.stats();
    expect(after.misdirected).toBe(before.misdirected);
    expect(after.authFailures - before.authFailures).toBe(2);
    expect(after.messagesIn).toBe(before.messagesIn);
  });

  it('a device of this plane with a wrong secret is refused as usual, though the directory knows it', async () => {
    const raw = rawClient(us.tcpPort, { clientId: US_DEVICE, username: US_DEVICE, password: 'wrong-secret-0123456789', version: 5 });
    raws.push(raw);
    expect((await raw.connack).reasonCode).toBe(0x86);
  });

  it('directory down: devices at home log in without it, a misdirected device gets the usual refusal, nothing is accepted', async () => {
    const broker = await brokerFor(usRegistry, captureLogs().logger, { plane: plane('us', { cacheTtlMs: 0 }) });
    try {
      directory.down = true;
      const home = rawClient(broker.tcpPort, { clientId: US_DEVICE, username: US_DEVICE, password: SECRET, version: 5 });
      raws.push(home);
      expect((await home.connack).reasonCode).toBe(0);
      const away = pushy(broker.tcpPort, EU_DEVICE, 5);
      expect((await away.connack).reasonCode).toBe(0x86);
      await away.closed;
      const stats = broker.stats();
      expect(stats).toMatchObject({ misdirected: 0, directoryUnavailable: 1, directoryLookups: 1 });
      expect(stats.messagesIn).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it('a directory that does not answer in time is a refusal after the timeout, not a hang', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const broker = await brokerFor(usRegistry, captureLogs().logger, {
      plane: { region: 'us', directory: { url: `http://127.0.0.1:${port}`, token: directory.token, timeoutMs: 200 } },
    });
    try {
      const raw = rawClient(broker.tcpPort, { clientId: EU_DEVICE, username: EU_DEVICE, password: SECRET, version: 4 });
      raws.push(raw);
      expect((await raw.connack).returnCode).toBe(4);
      expect(broker.stats().directoryUnavailable).toBe(1);
    } finally {
      await broker.close();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('the cache is bounded: past cacheMax the oldest answer is forgotten and asked again', async () => {
    const broker = await brokerFor(usRegistry, captureLogs().logger, { plane: plane('us', { cacheMax: 1 }) });
    try {
      const login = async (id: string): Promise<number> => {
        const raw = rawClient(broker.tcpPort, { clientId: id, username: id, password: SECRET, version: 5 });
        raws.push(raw);
        return (await raw.connack).reasonCode ?? -1;
      };
      expect(await login(EU_DEVICE)).toBe(0x9c);
      expect(await login(EU_DEVICE)).toBe(0x9c);
      expect(broker.stats()).toMatchObject({ directoryLookups: 1, directoryCacheHits: 1 });
      expect(await login(EU_DEVICE_OLD)).toBe(0x9c);
      expect(await login(EU_DEVICE)).toBe(0x9c);
      expect(broker.stats()).toMatchObject({ directoryLookups: 3, directoryCacheHits: 1, misdirected: 4 });
      expect(await broker.metrics()).toContain('brewtel_broker_misdirected_total 4');
    } finally {
      await broker.close();
    }
  });
});
