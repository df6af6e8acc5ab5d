import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };

interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

describe('broker topic rights (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  let ingest: mqtt.MqttClient;
  let received: Received[];

  const connectDevice = async (who: { id: string; secret: string }, options: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> => {
    const client = pool.open(broker.mqttUrl, { clientId: who.id, username: who.id, password: who.secret, ...options });
    expect(await pool.connack(client)).toBe(0);
    return client;
  };

  /** QoS granted per filter, in order; mqtt.js rejects a SUBACK holding 0x80 but keeps the packet. */
  const grantedQos = async (client: mqtt.MqttClient, filters: string[]): Promise<number[]> => {
    try {
      return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
    } catch (error) {
      const packet = (error as { packet?: { granted?: number[] } }).packet;
      if (!packet?.granted) throw error;
      return packet.granted;
    }
  };

  const closed = (client: mqtt.MqttClient): Promise<'closed'> => new Promise((resolve) => client.once('close', () => resolve('closed')));

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger);
  });

  beforeEach(async () => {
    received = [];
    ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    ingest.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
    const granted = await ingest.subscribeAsync([topics.filters.allEvents, topics.filters.allStates], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
  });

  afterEach(() => pool.endAll());

  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  it("delivers a device's own events and state to the ingest account", async () => {
    const alice = await connectDevice(ALICE);
    await alice.publishAsync(topics.event(ALICE.id, 'brew'), '{"n":1}', { qos: 1 });
    await alice.publishAsync(topics.state(ALICE.id), 'online', { qos: 1, retain: true });
    await waitUntil('both messages at ingest', () => received.length === 2, 5_000);
    expect(received.map((r) => r.topic)).toEqual([topics.event(ALICE.id, 'brew'), topics.state(ALICE.id)]);
    expect(broker.stats().messagesIn).toBeGreaterThanOrEqual(2);
    expect(broker.stats().messagesOut).toBeGreaterThanOrEqual(2);
  });

  it('carries a command to its device and the answer on cmd-result back to the service account', async () => {
    const alice = await connectDevice(ALICE);
    const commands: string[] = [];
    alice.on('message', (topic) => commands.push(topic));
    await alice.subscribeAsync(topics.filters.deviceCommands(ALICE.id), { qos: 1 });
    expect(await grantedQos(ingest, [topics.filters.allCommandResults])).toEqual([1]);
    await ingest.publishAsync(topics.command(ALICE.id, 'reboot'), '{}', { qos: 1 });
    await waitUntil('the command at the device', () => commands.length === 1, 5_000);
    await alice.publishAsync(topics.commandResult(ALICE.id, 'reboot'), '{"ok":true}', { qos: 1 });
    await waitUntil('the answer at the service account', () => received.some((r) => r.topic === topics.commandResult(ALICE.id, 'reboot')), 5_000);
    // Answering for another device is refused like any other foreign topic.
    const bob = await connectDevice(BOB);
    const outcome = await Promise.race([
      closed(bob),
      bob.publishAsync(topics.commandResult(ALICE.id, 'reboot'), '{"ok":false}', { qos: 1 }).then(() => 'acknowledged' as const),
    ]);
    expect(outcome).toBe('closed');
  });

  it("denies a publish to another device's topic: the connection closes and nothing is delivered", async () => {
    const alice = await connectDevice(ALICE);
    const denialsBefore = broker.stats().denials;
    const outcome = await Promise.race([
      closed(alice),
      alice.publishAsync(topics.event(BOB.id, 'brew'), '{"forged":true}', { qos: 1 }).then(() => 'acknowledged' as const),
    ]);
    expect(outcome).toBe('closed');
    // A marker from a legitimate device, published after the forgery, bounds the wait.
    const bob = await connectDevice(BOB);
    await bob.publishAsync(topics.event(BOB.id, 'status'), 'marker', { qos: 1 });
    await waitUntil('marker at ingest', () => received.some((r) => r.payload === 'marker'), 5_000);
    expect(received.filter((r) => r.payload.includes('forged'))).toEqual([]);
    expect(broker.stats().denials).toBe(denialsBefore + 1);
    const denial = logs.lines.find((l) => l.includes('publish denied') && l.includes(topics.event(BOB.id, 'brew')));
    expect(denial).toBeDefined();
    expect(denial).not.toContain('forged');
  });

  it('denies a QoS 0 publish outside the grammar and to $SYS', async () => {
    for (const topic of ['coffee/v1/cm-alice0001/evt/telemetry', '$SYS/fake/uptime']) {
      const alice = await connectDevice(ALICE);
      const gone = closed(alice);
      alice.publish(topic, 'x', { qos: 0 });
      expect(await gone).toBe('closed');
    }
  });

  it('refuses a device subscription to # or to another device, granting 0x80', async () => {
    const alice = await connectDevice(ALICE);
    const filters = ['#', topics.consent(BOB.id), topics.consent(ALICE.id), topics.filters.deviceCommands(ALICE.id)];
    expect(await grantedQos(alice, filters)).toEqual([128, 128, 1, 1]);
  });

  it('refuses an ingest subscription to # and $SYS', async () => {
    const denialsBefore = broker.stats().denials;
    expect(await grantedQos(ingest, ['#', '$SYS/#', topics.filters.deviceCommands(ALICE.id)])).toEqual([128, 128, 128]);
    expect(broker.stats().denials).toBe(denialsBefore + 3);
    expect(logs.lines.filter((l) => l.includes('subscription denied') && l.includes('"clientId":"svc-ingest"')).length).toBeGreaterThanOrEqual(3);
    // The refused filters really are inert: a device event still arrives once, via the allowed filter.
    const alice = await connectDevice(ALICE);
    await alice.publishAsync(topics.event(ALICE.id, 'fault'), 'once', { qos: 1 });
    const events = (): Received[] => received.filter((r) => r.topic === topics.event(ALICE.id, 'fault'));
    await waitUntil('event at ingest', () => events().length > 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events().map((r) => r.payload)).toEqual(['once']);
  });

  it('delivers the retained consent record and commands to their device only', async () => {
    await ingest.publishAsync(topics.consent(ALICE.id), '{"version":3}', { qos: 1, retain: true });
    const alice = await connectDevice(ALICE);
    const bob = await connectDevice(BOB);
    const toAlice: Received[] = [];
    const toBob: Received[] = [];
    alice.on('message', (topic, payload, packet) => toAlice.push({ topic, payload: payload.toString(), retain: packet.retain }));
    bob.on('message', (topic, payload, packet) => toBob.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await alice.subscribeAsync([topics.consent(ALICE.id), topics.filters.deviceCommands(ALICE.id)], { qos: 1 });
    await bob.subscribeAsync([topics.consent(BOB.id), topics.filters.deviceCommands(BOB.id)], { qos: 1 });
    await ingest.publishAsync(topics.command(ALICE.id, 'reboot'), '{}', { qos: 1 });
    await waitUntil('consent and command at alice', () => toAlice.length === 2, 5_000);
    expect(toAlice).toEqual([
      { topic: topics.consent(ALICE.id), payload: '{"version":3}', retain: true },
      { topic: topics.command(ALICE.id, 'reboot'), payload: '{}', retain: false },
    ]);
    expect(toBob).toEqual([]);
  });

  it("publishes a device's will on its state topic when its socket dies", async () => {
    const alice = await connectDevice(ALICE, { will: { topic: topics.state(ALICE.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    alice.stream.destroy();
    await waitUntil('will at ingest', () => received.some((r) => r.topic === topics.state(ALICE.id) && r.payload === 'offline'), 5_000);
  });

  it("drops a will aimed at another device's topic", async () => {
    const alice = await connectDevice(ALICE, { will: { topic: topics.state(BOB.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    const denialsBefore = broker.stats().denials;
    alice.stream.destroy();
    await waitUntil('will denial counted', () => broker.stats().denials === denialsBefore + 1, 5_000);
    expect(received.filter((r) => r.topic === topics.state(BOB.id))).toEqual([]);
  });
});
