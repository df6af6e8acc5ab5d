import { spawnSync } from 'node:child_process';
import mqtt from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateMosquitto, type PrivateMosquitto } from '../../bench/private-mosquitto.ts';
import type { TcpBroker } from '../../broker/broker.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { recordingRelay, type RecordingRelay, type RelayedConnection } from '../support/mqtt-recording-relay.ts';
import { waitFor } from './aedes-server.ts';

const logger = pino({ level: 'silent' });
const mosquittoInstalled = spawnSync('mosquitto', ['-h']).error === undefined;
if (!mosquittoInstalled && process.env.CI === 'true') throw new Error('mosquitto is not installed');

const ALIASED = 'cm-ta-aliased';
const PLAIN = 'cm-ta-plain';
const OLD = 'cm-ta-v311';

interface Seen {
  topic: string;
  envelope: { deviceId: string; kind: string };
}

const publishesOf = (connection: RelayedConnection): mqttPacket.IPublishPacket[] =>
  connection.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');

/**
 * What a machine put on the wire: every PUBLISH with an empty topic names an alias that an earlier
 * PUBLISH of the same connection mapped (v5 §3.3.2.3.4), and the topic each one stands for.
 */
function resolvedTopics(connection: RelayedConnection): { aliased: number; topics: string[] } {
  const mapped = new Map<number, string>();
  let aliased = 0;
  const resolved = publishesOf(connection).map((p) => {
    const alias = p.properties?.topicAlias;
    if (alias === undefined) return p.topic;
    if (p.topic !== '') {
      mapped.set(alias, p.topic);
      return p.topic;
    }
    aliased++;
    const topic = mapped.get(alias);
    if (topic === undefined) throw new Error(`alias ${alias} used before it was mapped`);
    return topic;
  });
  return { aliased, topics: resolved };
}

/**
 * MQTT 5 machines alias their topics when the broker announces a Topic Alias Maximum, and the
 * subscriber still gets every event on its real topic. A relay between the machines and the broker
 * shows what the machines sent; a 3.1.1 machine and one with `topicAliases: false` send none.
 */
describe("topic aliases on the machines' publishes", () => {
  let registry: DeviceRegistry | undefined;
  let broker: TcpBroker | undefined;
  let mosquitto: PrivateMosquitto | undefined;
  let relay: RecordingRelay | undefined;
  let watcher: mqtt.MqttClient | undefined;
  const fleets: Fleet[] = [];
  const seen: Seen[] = [];

  afterEach(async () => {
    for (const fleet of fleets.splice(0)) await fleet.stop();
    await watcher?.endAsync(true);
    await relay?.close();
    await broker?.close();
    await registry?.close();
    await mosquitto?.stop();
    registry = broker = mosquitto = relay = watcher = undefined;
    seen.length = 0;
  });

  const watch = async (url: string, login: mqtt.IClientOptions): Promise<void> => {
    const client = await mqtt.connectAsync(url, { clientId: 'svc-ta-watch', protocolVersion: 5, clean: true, reconnectPeriod: 0, ...login });
    watcher = client;
    client.on('message', (topic, payload) => seen.push({ topic, envelope: JSON.parse(payload.toString()) as Seen['envelope'] }));
    await client.subscribeAsync(topics.filters.allEvents, { qos: 1 });
  };
  // Leaky firmware publishes without waiting for a consent record, so events flow at once.
  const machine = (deviceId: string, mqttVersion: 4 | 5) => ({
    deviceId,
    secret: 's',
    region: 'eu' as const,
    profile: 'leaky' as const,
    usage: 'cafe' as const,
    mqttVersion,
  });
  const eventsOf = (deviceId: string): Seen[] => seen.filter((s) => s.envelope.deviceId === deviceId);
  const connectionOf = (clientId: string): RelayedConnection => {
    const found = relay!.connections.find((c) => c.clientId === clientId);
    if (found === undefined) throw new Error(`${clientId} never connected through the relay`);
    return found;
  };
  /** Each event arrived on its own machine's topic for its kind, whatever the machine sent. */
  const expectRealTopics = (deviceId: string): void => {
    for (const { topic, envelope } of eventsOf(deviceId)) expect(topic).toBe(topics.event(deviceId, envelope.kind as 'brew'));
  };

  it('through our broker: v5 machines alias (aliases off and 3.1.1 do not), the subscriber sees real topics', async () => {
    registry = await startDeviceRegistry({
      [ALIASED]: { secret: 's', region: 'eu' },
      [PLAIN]: { secret: 's', region: 'eu' },
      [OLD]: { secret: 's', region: 'eu' },
    });
    broker = await brokerFor(registry, logger);
    relay = await recordingRelay(broker.tcpPort);
    await watch(broker.mqttUrl, { username: INGEST.username, password: INGEST.password });
    const common = { brokerUrl: relay.url, seed: 5, speed: 100_000 };
    fleets.push(await startFleet({ ...common, machines: [machine(ALIASED, 5), machine(OLD, 4)] }, logger));
    fleets.push(await startFleet({ ...common, machines: [machine(PLAIN, 5)], topicAliases: false }, logger));
    await waitFor(() => [ALIASED, PLAIN, OLD].every((id) => eventsOf(id).length >= 10), 15_000, 'events of every machine');

    for (const id of [ALIASED, PLAIN, OLD]) expectRealTopics(id);
    const aliased = resolvedTopics(connectionOf(ALIASED));
    expect(aliased.aliased).toBeGreaterThan(0);
    // Only the machine's own topics were ever aliased, and within the 16 our broker announces.
    expect(aliased.topics.every((t) => t.startsWith(`coffee/v1/${ALIASED}/`))).toBe(true);
    expect(Math.max(...publishesOf(connectionOf(ALIASED)).map((p) => p.properties?.topicAlias ?? 0))).toBeLessThanOrEqual(16);
    for (const id of [PLAIN, OLD]) expect(publishesOf(connectionOf(id)).filter((p) => p.properties?.topicAlias !== undefined)).toEqual([]);
    // The topic policy judged every aliased publish by its real topic, and refused none.
    expect(broker.stats().denials).toBe(0);
  }, 30_000);

  it.skipIf(!mosquittoInstalled)(
    'through Mosquitto (Topic Alias Maximum 10): aliased events arrive on their real topics',
    async () => {
      mosquitto = await startPrivateMosquitto();
      relay = await recordingRelay(Number(new URL(mosquitto.url).port));
      await watch(mosquitto.url, {});
      fleets.push(await startFleet({ brokerUrl: relay.url, seed: 6, speed: 100_000, machines: [machine(ALIASED, 5), machine(OLD, 4)] }, logger));
      await waitFor(() => [ALIASED, OLD].every((id) => eventsOf(id).length >= 10), 15_000, 'events of both machines');

      for (const id of [ALIASED, OLD]) expectRealTopics(id);
      expect(resolvedTopics(connectionOf(ALIASED)).aliased).toBeGreaterThan(0);
      expect(Math.max(...publishesOf(connectionOf(ALIASED)).map((p) => p.properties?.topicAlias ?? 0))).toBeLessThanOrEqual(10);
      expect(publishesOf(connectionOf(OLD)).filter((p) => p.properties?.topicAlias !== undefined)).toEqual([]);
    },
    30_000,
  );
});
