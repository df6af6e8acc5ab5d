import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import type { RedirectHook } from '../../broker/config.ts';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { MAX_REDIRECTS_IN_A_ROW } from '../../firmware-sim/server-redirects.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { waitFor } from './aedes-server.ts';

const logger = pino({ level: 'silent' });
/** Sent to B by A, with 0x9C (or a 3.1.1 CONNACK 3). */
const ROAMER = 'cm-rd-roamer';
const OLD_ROAMER = 'cm-rd-roamer-v311';
const BLIPPY = 'cm-rd-blippy';
/** Sent to B by A with 0x9D, server moved. */
const MOVED = 'cm-rd-moved';
/** Sent back and forth between A and B. */
const PINGPONG = 'cm-rd-pingpong';

/**
 * MQTT 5 server redirection (v5 §4.11) through the real machine link, between two of our brokers on
 * port 0: broker A's redirect hook sends some devices to broker B (CONNACK 0x9C or 0x9D with B's URL
 * as Server Reference), B sends one back. The devices authenticate at both against one registry.
 */
describe('machines follow a CONNACK server reference', () => {
  let registry: DeviceRegistry;
  let a: TcpBroker;
  let b: TcpBroker;
  let watcher: mqtt.MqttClient;
  let fleet: Fleet | undefined;
  let connection: DeviceConnection | undefined;
  const atB: Array<{ topic: string; deviceId: string; kind: string }> = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry(Object.fromEntries([ROAMER, OLD_ROAMER, BLIPPY, MOVED, PINGPONG].map((id) => [id, { secret: 's', region: 'eu' }])));
    let aUrl = '';
    const toA: RedirectHook = (identity) => (identity.kind === 'device' && identity.deviceId === PINGPONG ? aUrl : null);
    b = await brokerFor(registry, logger, { redirect: toA });
    const toB: RedirectHook = (identity) => {
      if (identity.kind !== 'device') return null;
      if (identity.deviceId === MOVED) return { serverReference: b.mqttUrl, moved: true };
      return [ROAMER, OLD_ROAMER, BLIPPY, PINGPONG].includes(identity.deviceId) ? b.mqttUrl : null;
    };
    a = await brokerFor(registry, logger, { redirect: toB });
    aUrl = a.mqttUrl;
    watcher = await mqtt.connectAsync(b.mqttUrl, {
      clientId: 'svc-rd-watch',
      username: INGEST.username,
      password: INGEST.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    watcher.on('message', (topic, payload) => {
      const envelope = JSON.parse(payload.toString()) as { deviceId: string; kind: string };
      atB.push({ topic, deviceId: envelope.deviceId, kind: envelope.kind });
    });
    await watcher.subscribeAsync(topics.filters.allEvents, { qos: 1 });
  });
  afterEach(async () => {
    await fleet?.stop();
    await connection?.stop(500);
    fleet = connection = undefined;
  });
  afterAll(async () => {
    await watcher?.endAsync(true);
    await a?.close();
    await b?.close();
    await registry?.close();
  });

  const open = (deviceId: string, counters: FleetCounters, backoff = { initialMs: 50, maxMs: 100 }): DeviceConnection =>
    new DeviceConnection({
      brokerUrl: a.mqttUrl,
      deviceId,
      secret: 's',
      counters,
      logger,
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 10,
      backoff,
    });

  it('a v5 machine of a fleet ends up on B and its events arrive there; a 3.1.1 machine is refused (CONNACK 3) and counted, never redirected', async () => {
    const redirectsAtA = a.stats().redirects;
    fleet = await startFleet(
      {
        brokerUrl: a.mqttUrl,
        seed: 7,
        speed: 100_000,
        // Leaky firmware publishes without waiting for a consent record, so events flow at once.
        machines: [
          { deviceId: ROAMER, secret: 's', region: 'eu', profile: 'leaky', usage: 'cafe', mqttVersion: 5 },
          { deviceId: OLD_ROAMER, secret: 's', region: 'eu', profile: 'leaky', usage: 'cafe', mqttVersion: 4 },
        ],
      },
      logger,
    );
    const f = fleet;
    await waitFor(
      () => atB.filter((e) => e.deviceId === ROAMER).length >= 5 && (f.stats().refusals.connack['0x03'] ?? 0) >= 1,
      15_000,
      'events at B and a refusal',
    );
    for (const event of atB.filter((e) => e.deviceId === ROAMER)) expect(event.topic).toBe(topics.event(ROAMER, event.kind as 'brew'));
    const stats = f.stats();
    expect(stats.redirected).toBe(1);
    expect(stats.connected).toBe(1);
    expect(stats.refusals.connack).toEqual({ '0x03': expect.any(Number) });
    expect(atB.some((e) => e.deviceId === OLD_ROAMER)).toBe(false);
    expect(b.stats().connectionsByProtocol).toEqual({ '3.1.1': 0, '5': 2 });
    expect(a.stats().redirects - redirectsAtA).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('0x9C holds for one connection: after a drop the machine asks A again and is sent to B again', async () => {
    const counters = new FleetCounters(1);
    connection = open(BLIPPY, counters);
    expect(await connection.firstAttempt()).toBe(true);
    expect(counters.redirected).toBe(1);
    const before = a.stats().redirects;
    connection.dropLink();
    const link = connection;
    await waitFor(() => link.connected, 5_000, 'connected again');
    expect(counters.redirected).toBe(2);
    expect(a.stats().redirects).toBe(before + 1);
  });

  it('0x9D moves the machine: after a drop it connects to B without asking A', async () => {
    const counters = new FleetCounters(1);
    connection = open(MOVED, counters);
    expect(await connection.firstAttempt()).toBe(true);
    expect(counters.redirected).toBe(1);
    const before = a.stats().redirects;
    const connectionsAtB = b.stats().connections;
    connection.dropLink();
    const link = connection;
    await waitFor(() => link.connected && b.stats().connections === connectionsAtB, 5_000, 'connected to B again');
    expect(counters.redirected).toBe(1);
    expect(a.stats().redirects).toBe(before);
  });

  it(`two brokers sending a machine back and forth: ${MAX_REDIRECTS_IN_A_ROW} redirects followed, the next counted as a refusal, then the backoff`, async () => {
    const counters = new FleetCounters(1);
    // A backoff longer than the test: whatever happens after the refusal cannot be counted here.
    connection = open(PINGPONG, counters, { initialMs: 120_000, maxMs: 120_000 });
    expect(await connection.firstAttempt()).toBe(false);
    expect(counters.redirected).toBe(MAX_REDIRECTS_IN_A_ROW);
    expect(counters.snapshot().refusals.connack).toEqual({ '0x9c': 1 });
    expect(connection.connected).toBe(false);
  });
});
