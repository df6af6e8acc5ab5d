import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { tcpReachable } from '../support/tcp.ts';
import { waitFor } from './aedes-server.ts';

const logger = pino({ level: 'silent' });
const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';
const mosquittoUp = await tcpReachable(1883);
if (!mosquittoUp && process.env.CI === 'true') throw new Error(`Mosquitto is not reachable at ${MOSQUITTO_URL}`);

const run = randomBytes(4).toString('hex');
const DEVICES = { v5: `cm-wd5-${run}`, v4: `cm-wd4-${run}` };

interface Target {
  url: string;
  /** Watcher login: the ingest account on our broker, anonymous on Mosquitto. */
  login: mqtt.IClientOptions;
  close(): Promise<void>;
}

async function ours(): Promise<Target> {
  const registry: DeviceRegistry = await startDeviceRegistry({ [DEVICES.v5]: { secret: 's', region: 'eu' }, [DEVICES.v4]: { secret: 's', region: 'eu' } });
  const broker: TcpBroker = await brokerFor(registry, logger);
  return {
    url: broker.mqttUrl,
    login: { username: INGEST.username, password: INGEST.password },
    close: async () => {
      await broker.close();
      await registry.close();
    },
  };
}

async function mosquitto(): Promise<Target> {
  return {
    url: MOSQUITTO_URL,
    login: {},
    // Shared with other runs: leave no retained state and no session behind.
    close: async () => {
      const c = await mqtt.connectAsync(MOSQUITTO_URL, { clientId: `wd-clean-${run}`, clean: true, reconnectPeriod: 0 });
      for (const id of Object.values(DEVICES)) await c.publishAsync(topics.state(id), '', { qos: 1, retain: true });
      await c.endAsync();
      for (const id of Object.values(DEVICES)) await (await mqtt.connectAsync(MOSQUITTO_URL, { clientId: id, clean: true, reconnectPeriod: 0 })).endAsync();
    },
  };
}

/**
 * MQTT 5 will delay for the `offline` state: a machine back within the delay never shows as offline
 * [MQTT-3.1.3-9]; one away longer does. A 3.1.1 machine has no delay: its will goes out at once.
 * Against our broker (port 0) and the machine's Mosquitto, unchanged.
 */
describe.each([
  { name: 'our broker', start: ours, skip: false },
  { name: 'Mosquitto', start: mosquitto, skip: !mosquittoUp },
])('the offline will through $name', ({ start, skip }) => {
  let target: Target;
  let watcher: mqtt.MqttClient;
  let connection: DeviceConnection | undefined;
  const states: Array<{ deviceId: string; state: string }> = [];

  beforeAll(async () => {
    if (skip) return;
    target = await start();
    watcher = await mqtt.connectAsync(target.url, { clientId: `svc-wd-watch-${run}`, protocolVersion: 5, clean: true, reconnectPeriod: 0, ...target.login });
    watcher.on('message', (topic, payload) => {
      const deviceId = topic.split('/')[2]!;
      if (Object.values(DEVICES).includes(deviceId) && payload.length > 0) states.push({ deviceId, state: payload.toString() });
    });
    await watcher.subscribeAsync(topics.filters.allStates, { qos: 1 });
  });
  afterEach(async () => {
    await connection?.stop(500);
    connection = undefined;
  });
  afterAll(async () => {
    if (skip) return;
    await watcher?.endAsync(true);
    await target?.close();
  });

  const open = (deviceId: string, mqttVersion: 4 | 5): DeviceConnection =>
    new DeviceConnection({
      brokerUrl: target.url,
      mqttVersion,
      deviceId,
      secret: 's',
      counters: new FleetCounters(1),
      logger,
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 10,
      backoff: { initialMs: 50, maxMs: 100 },
      willDelayS: 2,
      sessionExpiryS: 60,
    });
  const of = (deviceId: string): string[] => states.filter((s) => s.deviceId === deviceId).map((s) => s.state);
  /** Connects the device and waits until its `online` is seen; `seen`: how many states it had by then. */
  const connectOnline = async (deviceId: string, mqttVersion: 4 | 5): Promise<{ link: DeviceConnection; seen: number }> => {
    const link = open(deviceId, mqttVersion);
    connection = link;
    expect(await link.firstAttempt()).toBe(true);
    await waitFor(() => of(deviceId).at(-1) === 'online', 5_000, 'online');
    return { link, seen: of(deviceId).length };
  };

  it.skipIf(skip)(
    'MQTT 5: back within the will delay, no offline; away longer, offline',
    async () => {
      const { link, seen } = await connectOnline(DEVICES.v5, 5);
      // A blip: the link drops without a DISCONNECT and is back after the 50 ms backoff.
      link.dropLink();
      await waitFor(() => of(DEVICES.v5).length > seen, 5_000, 'online again');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(of(DEVICES.v5).slice(seen)).toEqual(['online']);

      // Down for longer than the delay: the will is published once the delay has passed.
      link.restart(3_500);
      await waitFor(() => of(DEVICES.v5).includes('offline'), 5_000, 'offline after the delay');
      await waitFor(() => of(DEVICES.v5).at(-1) === 'online', 5_000, 'online after the restart');
    },
    20_000,
  );

  it.skipIf(skip)('MQTT 3.1.1: the will goes out at once, even for a blip', async () => {
    const { link, seen } = await connectOnline(DEVICES.v4, 4);
    link.dropLink();
    await waitFor(() => of(DEVICES.v4).slice(seen).join() === 'offline,online', 5_000, 'offline, then online');
  });
});
