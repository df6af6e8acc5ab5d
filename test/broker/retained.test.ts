import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { retainedTopicsOf, topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };

/** Retained messages through the real broker with real clients: who may set one, where, and clearing them. */
describe('broker: retained messages (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger, { metricsPort: 0 });
  });
  afterEach(() => pool.endAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const connect = async (options: mqtt.IClientOptions): Promise<mqtt.MqttClient> => {
    const client = pool.open(broker.mqttUrl, options);
    expect(await pool.connack(client)).toBe(0);
    return client;
  };
  const device = (who: { id: string; secret: string }, options: mqtt.IClientOptions = {}) =>
    connect({ clientId: who.id, username: who.id, password: who.secret, ...options });
  const ingest = () => connect({ clientId: `svc-ingest-${Math.random().toString(36).slice(2, 8)}`, username: INGEST.username, password: INGEST.password });
  const closed = (client: mqtt.MqttClient): Promise<'closed'> => new Promise((resolve) => client.once('close', () => resolve('closed')));

  /** What a fresh subscriber gets as retained for these filters, waiting `ms` for it. */
  async function retainedFor(filters: string[], ms = 300): Promise<{ topic: string; payload: string }[]> {
    const reader = await ingest();
    const got: { topic: string; payload: string }[] = [];
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) got.push({ topic, payload: payload.toString() });
    });
    await reader.subscribeAsync(filters, { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, ms));
    await reader.endAsync();
    return got;
  }

  it.each([
    ['an event', topics.event(ALICE.id, 'brew')],
    ['a command result', topics.commandResult(ALICE.id, 'reboot')],
  ])('refuses a device a retained publish on %s: connection closed, counted, logged without payload, nothing retained', async (_what, topic) => {
    const alice = await device(ALICE);
    const before = broker.stats();
    const outcome = await Promise.race([
      closed(alice),
      alice.publishAsync(topic, 'retained-secret-payload', { qos: 1, retain: true }).then(() => 'acknowledged' as const),
    ]);
    expect(outcome).toBe('closed');
    expect(broker.stats().retainRefused).toBe(before.retainRefused + 1);
    expect(broker.stats().denials).toBe(before.denials + 1);
    const line = logs.lines.find((l) => l.includes('"reason":"retain_refused"') && l.includes(topic));
    expect(line).toContain(ALICE.id);
    expect(logs.lines.join('\n')).not.toContain('retained-secret-payload');
    const filter = topic.startsWith(`coffee/v1/${ALICE.id}/evt/`) ? topics.filters.allEvents : topics.filters.allCommandResults;
    expect(await retainedFor([filter])).toEqual([]);
  });

  it('keeps a retained state (and a will on the state topic) from the device itself', async () => {
    const alice = await device(ALICE, { will: { topic: topics.state(ALICE.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    await alice.publishAsync(topics.state(ALICE.id), 'online', { qos: 1, retain: true });
    expect(await retainedFor([topics.filters.allStates])).toContainEqual({ topic: topics.state(ALICE.id), payload: 'online' });
    alice.stream.destroy();
    await waitUntil('the will as retained state', async () => (await retainedFor([topics.state(ALICE.id)], 100)).some((m) => m.payload === 'offline'), 5_000);
  });

  it('drops a retained will outside the state topic, and counts it', async () => {
    const before = broker.stats().retainRefused;
    const bob = await device(BOB, { will: { topic: topics.event(BOB.id, 'fault'), payload: Buffer.from('will-payload'), qos: 1, retain: true } });
    bob.stream.destroy();
    await waitUntil('the retained will refused', () => broker.stats().retainRefused === before + 1, 5_000);
    expect(await retainedFor([topics.filters.allEvents])).toEqual([]);
  });

  it('refuses a command result for a command that does not exist (the grammar admits the name)', async () => {
    const alice = await device(ALICE);
    const outcome = await Promise.race([
      closed(alice),
      alice.publishAsync(topics.commandResult(ALICE.id, 'descale'), '{}', { qos: 1 }).then(() => 'acknowledged' as const),
    ]);
    expect(outcome).toBe('closed');
    const still = await device(ALICE);
    await still.publishAsync(topics.commandResult(ALICE.id, 'wipe-local-data'), '{}', { qos: 1 });
  });

  it('lets ingest clear every retained message of a device (state and consent), and set no state for it', async () => {
    /** Retained consent as the device itself gets it on subscribing (ingest may not subscribe to consent). */
    const consentAtDevice = async (): Promise<string[]> => {
      const reader = await device(ALICE);
      const got: string[] = [];
      reader.on('message', (_topic, payload, packet) => {
        if (packet.retain) got.push(payload.toString());
      });
      await reader.subscribeAsync(topics.consent(ALICE.id), { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await reader.endAsync();
      return got;
    };
    const alice = await device(ALICE);
    await alice.publishAsync(topics.state(ALICE.id), 'online', { qos: 1, retain: true });
    await alice.endAsync();
    const service = await ingest();
    await service.publishAsync(topics.consent(ALICE.id), '{"version":1}', { qos: 1, retain: true });
    expect(await retainedFor([topics.state(ALICE.id)])).toEqual([{ topic: topics.state(ALICE.id), payload: 'online' }]);
    expect(await consentAtDevice()).toEqual(['{"version":1}']);

    // Setting a state for the device is refused: only an empty retained payload (a clear) is allowed.
    const setter = await ingest();
    const refused = await Promise.race([
      closed(setter),
      setter.publishAsync(topics.state(ALICE.id), 'offline', { qos: 1, retain: true }).then(() => 'acknowledged' as const),
    ]);
    expect(refused).toBe('closed');

    // An empty retained payload removes the retained message [MQTT-3.3.1-10, -11].
    for (const topic of retainedTopicsOf(ALICE.id)) await service.publishAsync(topic, '', { qos: 1, retain: true });
    expect(await retainedFor([topics.state(ALICE.id)])).toEqual([]);
    expect(await consentAtDevice()).toEqual([]);
  });

  it('serves the retained refusals as a Prometheus counter', async () => {
    const text = await (await fetch(broker.metricsUrl!)).text();
    expect(text).toMatch(/^brewtel_broker_retain_refused_total [1-9]\d*$/m);
  });
});
