import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
const notice = (deviceId: string): string => JSON.stringify({ v: 1, deviceId });

/**
 * Credential revocation notices through the real broker with real clients. The registry here keeps
 * answering "valid" on purpose: whatever the broker refuses after a notice, it refuses on its own.
 */
describe('broker: credential revocation notices (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  let ingest: mqtt.MqttClient;
  let atIngest: { topic: string; payload: string }[];

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger, { metricsPort: 0 });
  });
  afterEach(() => pool.endAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const connectIngest = async (): Promise<void> => {
    atIngest = [];
    ingest = pool.open(broker.mqttUrl, {
      clientId: `svc-ingest-${Math.random().toString(36).slice(2, 8)}`,
      username: INGEST.username,
      password: INGEST.password,
    });
    expect(await pool.connack(ingest)).toBe(0);
    ingest.on('message', (topic, payload) => atIngest.push({ topic, payload: payload.toString() }));
    await ingest.subscribeAsync([topics.filters.allEvents, topics.filters.allStates, topics.filters.allCommandResults], { qos: 1 });
  };
  const device = (who: { id: string; secret: string }, options: mqtt.IClientOptions = {}) =>
    pool.open(broker.mqttUrl, { clientId: who.id, username: who.id, password: who.secret, ...options });

  it("closes the device's live session at once, drops its will, and refuses its secret afterwards without asking the registry", async () => {
    await connectIngest();
    const alice = device(ALICE, { will: { topic: topics.state(ALICE.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    expect(await pool.connack(alice)).toBe(0);
    const commands: string[] = [];
    alice.on('message', (topic) => commands.push(topic));
    await alice.subscribeAsync(topics.filters.deviceCommands(ALICE.id), { qos: 1 });
    const closed = new Promise<number>((resolve) => alice.once('close', () => resolve(Date.now())));

    // As an erasure does: a last command, then the notice right behind it on the same connection.
    ingest.publish(topics.command(ALICE.id, 'wipe-local-data'), '{}', { qos: 1 });
    const sentAt = Date.now();
    await ingest.publishAsync(CONTROL_TOPICS.credentialsRevoked, notice(ALICE.id), { qos: 1 });
    expect((await closed) - sentAt).toBeLessThan(1_500);
    // The command sent just before still reached the device.
    expect(commands).toEqual([topics.command(ALICE.id, 'wipe-local-data')]);
    expect(broker.stats()).toMatchObject({ revocationNotices: 1, revokedSessions: 1 });

    const asked = registry.requests;
    expect(await pool.connack(device(ALICE))).toBe(4);
    expect(registry.requests).toBe(asked);
    // Its will was not published: nothing of the erased device is left behind, retained or live.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(atIngest.filter((m) => m.topic === topics.state(ALICE.id))).toEqual([]);
    // Another device is not affected, and the notice itself reached no client.
    expect(await pool.connack(device(BOB))).toBe(0);
    expect(atIngest.filter((m) => m.topic === CONTROL_TOPICS.credentialsRevoked)).toEqual([]);
    expect(logs.lines.some((l) => l.includes('"reason":"credentials_revoked"') && l.includes(ALICE.id))).toBe(true);
  });

  it('takes notices from the ingest service role only; nobody may subscribe to them', async () => {
    await connectIngest();
    const bob = device(BOB);
    expect(await pool.connack(bob)).toBe(0);
    const denials = broker.stats().denials;
    const gone = new Promise<'closed'>((resolve) => bob.once('close', () => resolve('closed')));
    bob.publish(CONTROL_TOPICS.credentialsRevoked, notice(BOB.id), { qos: 1 });
    expect(await gone).toBe('closed');
    expect(broker.stats().denials).toBe(denials + 1);
    expect(broker.stats().revocationNotices).toBe(1);
    expect(await pool.connack(device(BOB))).toBe(0);

    for (const filter of [CONTROL_TOPICS.credentialsRevoked, '$brewtel/#', '#']) {
      const granted = await ingest.subscribeAsync(filter, { qos: 1 }).then(
        (g) => g.map((x) => x.qos),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
      );
      expect(granted).toEqual([128]);
    }
    // Retained notices are refused too: none could wait at the broker for a later subscriber.
    const retaining = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-retain', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(retaining)).toBe(0);
    const refused = new Promise<'closed'>((resolve) => retaining.once('close', () => resolve('closed')));
    retaining.publish(CONTROL_TOPICS.credentialsRevoked, notice(BOB.id), { qos: 1, retain: true });
    expect(await refused).toBe('closed');
    expect(await pool.connack(device(BOB))).toBe(0);
  });

  it('ignores and counts a malformed notice', async () => {
    await connectIngest();
    await ingest.publishAsync(CONTROL_TOPICS.credentialsRevoked, '{"deviceId":"not a device"}', { qos: 1 });
    await waitUntil('the malformed notice counted', () => broker.stats().revocationNoticesMalformed === 1, 5_000);
    expect(await pool.connack(device(BOB))).toBe(0);
    const text = await (await fetch(broker.metricsUrl!)).text();
    expect(text).toMatch(/^brewtel_broker_revocation_notices_total 1$/m);
    expect(text).toMatch(/^brewtel_broker_revoked_sessions_total 1$/m);
  });
});
