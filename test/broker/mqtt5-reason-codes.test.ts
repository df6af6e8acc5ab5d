import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import {
  brokerFor,
  captureLogs,
  clientPool,
  INGEST,
  rawClient,
  serverDisconnect,
  startDeviceRegistry,
  type DeviceRegistry,
  type RawClient,
  type RawLogin,
} from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
const CAROL = { id: 'cm-carol0003', secret: 'carol-one-time-secret-def' };
const DAVE = { id: 'cm-dave00004', secret: 'dave-one-time-secret-ghi' };
const ERIN = { id: 'cm-erin00005', secret: 'erin-one-time-secret-jkl' };

/** MQTT 5 reason codes our broker sends, against raw MQTT 5 clients and mqtt.js with protocolVersion 5. */
describe('broker: MQTT 5 reason codes (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  const raws: RawClient[] = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry({
      [ALICE.id]: { secret: ALICE.secret, region: 'eu' },
      [BOB.id]: { secret: BOB.secret, region: 'us' },
      [CAROL.id]: { secret: CAROL.secret, region: 'cn' },
      [DAVE.id]: { secret: DAVE.secret, region: 'eu' },
      [ERIN.id]: { secret: ERIN.secret, region: 'us' },
    });
    broker = await brokerFor(registry, logs.logger, {
      maxPacketBytes: 2_048,
      limits: { maxConnections: 3, publishPerSecond: 1, publishBurst: 5, maxInFlightIn: 3, maxInFlightInBytes: 4_096, topicAliasMaximum: 8 },
      authThrottle: { slowAfter: 3, delayMs: 5, maxDelayMs: 10, refuseAfter: 3, refuseMs: 60_000 },
    });
  });
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await pool.endAll();
    registry.failWith = null;
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const v5 = (login: RawLogin): RawClient => {
    const raw = rawClient(broker.tcpPort, { version: 5, ...login });
    raws.push(raw);
    return raw;
  };
  const device = (who: { id: string; secret: string }, more: Partial<RawLogin> = {}): RawClient =>
    v5({ clientId: who.id, username: who.id, password: who.secret, ...more });
  const connected = async (raw: RawClient): Promise<RawClient> => {
    expect((await raw.connack).reasonCode).toBe(0);
    return raw;
  };
  const publish = (raw: RawClient, topic: string, payload: string | Buffer, qos: 0 | 1 | 2, messageId?: number, properties?: Record<string, unknown>): void =>
    raw.send({
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      retain: false,
      dup: false,
      ...(messageId === undefined ? {} : { messageId }),
      ...(properties ? { properties } : {}),
    });
  const pubacks = (raw: RawClient) => raw.packets.flatMap((p) => (p.cmd === 'puback' ? [p] : []));

  it('[MQTT-3.2.2-15] [MQTT-3.2.2-17] announces Maximum Packet Size, Receive Maximum, Topic Alias Maximum and no shared subscriptions in CONNACK', async () => {
    const connack = await (await connected(device(ALICE))).connack;
    expect(connack.properties).toMatchObject({ maximumPacketSize: 2_048, receiveMaximum: 3, topicAliasMaximum: 8, sharedSubscriptionAvailable: false });
    // Absent means available [MQTT-3.2.2.3.5, 3.2.2.3.11, 3.2.2.3.12]: retain, wildcards, subscription identifiers.
    expect(connack.properties?.retainAvailable).toBeUndefined();
    expect(connack.properties?.wildcardSubscriptionAvailable).toBeUndefined();
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
  });

  it('answers a denied QoS 1 publish with PUBACK 0x87 and keeps the connection; the message reaches nobody', async () => {
    const ingest = pool.open(broker.mqttUrl, { protocolVersion: 5, clientId: 'svc-ingest-rc', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const seen: string[] = [];
    ingest.on('message', (topic) => seen.push(topic));
    await ingest.subscribeAsync(topics.filters.allEvents, { qos: 1 });
    const alice = await connected(device(ALICE));
    publish(alice, topics.event(BOB.id, 'brew'), 'not-alice-s-topic', 1, 7);
    await waitUntil('PUBACK for the denied publish', () => pubacks(alice).length === 1);
    expect(pubacks(alice)[0]).toMatchObject({ messageId: 7, reasonCode: 0x87 });
    // Still connected: the next (allowed) publish goes through.
    publish(alice, topics.event(ALICE.id, 'brew'), 'allowed', 1, 8);
    await waitUntil('the allowed publish delivered', () => seen.length === 1);
    expect(pubacks(alice)[1]).toMatchObject({ messageId: 8 });
    expect(pubacks(alice)[1]!.reasonCode ?? 0).toBe(0);
    expect(seen).toEqual([topics.event(ALICE.id, 'brew')]);
    expect(alice.socket.destroyed).toBe(false);
    expect(logs.lines.join('\n')).not.toContain('not-alice-s-topic');
  });

  it('mqtt.js v5: a denied publish fails with reason code 135 (0x87) and the client stays connected', async () => {
    const alice = pool.open(broker.mqttUrl, { protocolVersion: 5, clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
    expect(await pool.connack(alice)).toBe(0);
    const error = await alice.publishAsync(topics.event(BOB.id, 'brew'), 'x', { qos: 1 }).then(
      () => null,
      (e: unknown) => e as { code?: number },
    );
    expect(error?.code).toBe(0x87);
    expect(alice.connected).toBe(true);
  });

  it('disconnects a client sending a packet above the announced maximum with DISCONNECT 0x95', async () => {
    const alice = await connected(device(ALICE));
    publish(alice, topics.event(ALICE.id, 'brew'), Buffer.alloc(3_000, 'z'), 1, 1);
    expect(await serverDisconnect(alice)).toMatchObject({ reasonCode: 0x95 });
    expect(pubacks(alice)).toEqual([]);
  });

  it('disconnects a client publishing faster than its rate with DISCONNECT 0x96', async () => {
    const alice = await connected(device(ALICE));
    for (let i = 1; i <= 10; i++) publish(alice, topics.event(ALICE.id, 'brew'), `rate-${i}`, 1, i);
    expect(await serverDisconnect(alice)).toMatchObject({ reasonCode: 0x96, properties: { reasonString: 'publish_rate' } });
    // Nothing after the DISCONNECT [MQTT-3.14.4-1].
    const after = alice.packets.slice(alice.packets.findIndex((p) => p.cmd === 'disconnect') + 1);
    expect(after).toEqual([]);
  });

  it('disconnects a client holding more QoS 2 publishes than its Receive Maximum with DISCONNECT 0x93', async () => {
    const bob = await connected(device(BOB));
    for (let id = 1; id <= 4; id++) publish(bob, topics.event(BOB.id, 'brew'), 'x', 2, id);
    expect(await serverDisconnect(bob)).toMatchObject({ reasonCode: 0x93 });
    // The DISCONNECT is the last packet, whatever PUBRECs were still due [MQTT-3.14.4-1].
    expect(bob.packets.at(-1)?.cmd).toBe('disconnect');
    expect(bob.packets.filter((p) => p.cmd === 'pubrec' && (p as { messageId: number }).messageId === 4)).toEqual([]);
  });

  it('disconnects a client holding too many QoS 2 bytes with DISCONNECT 0x97 (quota exceeded)', async () => {
    const bob = await connected(device(BOB));
    for (let id = 1; id <= 3; id++) publish(bob, topics.event(BOB.id, 'brew'), Buffer.alloc(1_900, 'q'), 2, id);
    expect(await serverDisconnect(bob)).toMatchObject({ reasonCode: 0x97 });
  });

  it('[MQTT-3.1.2-22] disconnects a silent client with DISCONNECT 0x8D and publishes its will', async () => {
    const ingest = pool.open(broker.mqttUrl, { protocolVersion: 5, clientId: 'svc-ingest-ka', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const states: string[] = [];
    ingest.on('message', (_topic, payload) => states.push(payload.toString()));
    await ingest.subscribeAsync(topics.state(CAROL.id), { qos: 1 });
    const carol = await connected(
      device(CAROL, { keepalive: 1, will: { topic: topics.state(CAROL.id), payload: Buffer.from('offline'), qos: 1, retain: false } }),
    );
    expect(await serverDisconnect(carol)).toMatchObject({ reasonCode: 0x8d });
    await waitUntil('the will', () => states.includes('offline'));
  });

  it('[MQTT-3.1.4-3] tells the connection a new one takes over with DISCONNECT 0x8E', async () => {
    const first = await connected(device(CAROL));
    await connected(device(CAROL));
    expect(await serverDisconnect(first)).toMatchObject({ reasonCode: 0x8e });
  });

  it("ends an erased device's session with DISCONNECT 0x98 (administrative action)", async () => {
    const ingest = pool.open(broker.mqttUrl, { protocolVersion: 5, clientId: 'svc-ingest-rv', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const carol = await connected(device(CAROL));
    await ingest.publishAsync(CONTROL_TOPICS.credentialsRevoked, JSON.stringify({ v: 1, deviceId: CAROL.id }), { qos: 1 });
    expect(await serverDisconnect(carol)).toMatchObject({ reasonCode: 0x98 });
  });

  it('refuses CONNECTs with the MQTT 5 reason code: 0x86 wrong secret, 0x87 no credentials, 0x85 foreign client id, 0x88 registry down', async () => {
    expect((await v5({ clientId: BOB.id, username: BOB.id, password: 'wrong-secret-xyz-123' }).connack).reasonCode).toBe(0x86);
    expect((await v5({ clientId: BOB.id }).connack).reasonCode).toBe(0x87);
    expect((await v5({ clientId: ALICE.id, username: BOB.id, password: BOB.secret }).connack).reasonCode).toBe(0x85);
    expect((await v5({ clientId: 'ingest-no-prefix', username: INGEST.username, password: INGEST.password }).connack).reasonCode).toBe(0x85);
    registry.failWith = 500;
    const refused = device(DAVE);
    expect((await refused.connack).reasonCode).toBe(0x88);
    // [MQTT-3.2.2-7] closed after a refusing CONNACK.
    await refused.closed;
  });

  it('refuses a throttled source with CONNACK 0x9F (connection rate exceeded) and a full broker with 0x89 (server busy)', async () => {
    for (let i = 0; i < 3; i++) expect((await v5({ clientId: ALICE.id, username: ALICE.id, password: `wrong-${i}-secret-xx` }).connack).reasonCode).toBe(0x86);
    const throttled = v5({ clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
    expect(await throttled.connack).toMatchObject({ reasonCode: 0x9f, properties: { reasonString: 'too many failed attempts' } });
    await throttled.closed;
    for (const who of [DAVE, ERIN]) await connected(device(who));
    await connected(v5({ clientId: 'svc-ingest-full', username: INGEST.username, password: INGEST.password }));
    const full = v5({ clientId: 'svc-ingest-more', username: INGEST.username, password: INGEST.password });
    expect((await full.connack).reasonCode).toBe(0x89);
    await full.closed;
    // A 3.1.1 client gets what it always got.
    const old = rawClient(broker.tcpPort, { clientId: 'svc-ingest-old', username: INGEST.username, password: INGEST.password });
    raws.push(old);
    expect((await old.connack).returnCode).toBe(3);
  });
});
