import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type mqttPacket from 'mqtt-packet';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import {
  brokerFor,
  captureLogs,
  INGEST,
  rawClient,
  serverDisconnect,
  startDeviceRegistry,
  type DeviceRegistry,
  type RawClient,
  type RawLogin,
} from './support.ts';

const ALICE = { id: 'cm-sess-alice', secret: 'alice-session-secret-xyz' };
const BOB = { id: 'cm-sess-bob', secret: 'bob-session-secret-abc' };

const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

/**
 * MQTT 5 session expiry and will delay on our persistence: one broker on the in-memory store, and
 * two nodes sharing Redis (aedes-persistence-redis 12, broker/cluster-emitter.ts), where the client comes back
 * on the other node. Raw MQTT 5 clients, so every property and reason code is seen as sent.
 */
describe('broker: MQTT 5 session expiry and will delay', () => {
  let registry: DeviceRegistry;
  const logs = captureLogs();
  const raws: RawClient[] = [];
  const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
  let memory: TcpBroker;
  let nodeA: TcpBroker | undefined;
  let nodeB: TcpBroker | undefined;

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    memory = await brokerFor(registry, logs.logger);
    if (redisAvailable) {
      const cluster = { redisUrl: REDIS_URL, keyPrefix: prefix };
      nodeA = await brokerFor(registry, logs.logger, { cluster });
      nodeB = await brokerFor(registry, logs.logger, { cluster });
    }
  });
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
  });
  afterAll(async () => {
    await Promise.all([memory?.close(), nodeA?.close(), nodeB?.close()]);
    await registry?.close();
    if (redisAvailable) {
      const redis = new Redis(REDIS_URL);
      for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  const v5 = (broker: TcpBroker, login: RawLogin): RawClient => {
    const raw = rawClient(broker.tcpPort, { version: 5, ...login });
    raws.push(raw);
    return raw;
  };
  const device = (broker: TcpBroker, who: { id: string; secret: string }, more: Partial<RawLogin> = {}): RawClient =>
    v5(broker, { clientId: who.id, username: who.id, password: who.secret, ...more });
  const connack = async (raw: RawClient): Promise<mqttPacket.IConnackPacket> => {
    const packet = await raw.connack;
    expect(packet.reasonCode).toBe(0);
    return packet;
  };
  /** A v5 ingest session subscribed to `filter`; returns the PUBLISH packets it gets (acknowledged). */
  const ingest = async (broker: TcpBroker, filter: string): Promise<{ raw: RawClient; publishes: mqttPacket.IPublishPacket[] }> => {
    const raw = v5(broker, { clientId: `svc-sess-${randomBytes(3).toString('hex')}`, username: INGEST.username, password: INGEST.password });
    await connack(raw);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] });
    await waitUntil('SUBACK', () => raw.packets.some((p) => p.cmd === 'suback'));
    const publishes: mqttPacket.IPublishPacket[] = [];
    raw.socket.on('data', () => {
      for (const p of raw.packets.splice(0)) {
        if (p.cmd !== 'publish') continue;
        publishes.push(p);
        if (p.qos > 0) raw.send({ cmd: 'puback', messageId: p.messageId! });
      }
    });
    return { raw, publishes };
  };
  const command = (who: { id: string }) => topics.command(who.id, 'reboot');
  /** The server side: a command to `who`, QoS 1, from an ingest session of its own. */
  const sendCommand = async (broker: TcpBroker, who: { id: string }, payload: string): Promise<void> => {
    const sender = v5(broker, { clientId: `svc-cmd-${randomBytes(3).toString('hex')}`, username: INGEST.username, password: INGEST.password });
    await connack(sender);
    sender.send({ cmd: 'publish', topic: command(who), payload: Buffer.from(payload), qos: 1, messageId: 1, retain: false, dup: false });
    await waitUntil('PUBACK of the command', () => sender.packets.some((p) => p.cmd === 'puback'));
    sender.socket.destroy();
  };
  const subscribeCommands = async (raw: RawClient, who: { id: string }): Promise<void> => {
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topics.filters.deviceCommands(who.id), qos: 1 }] });
    await waitUntil('SUBACK', () => raw.packets.some((p) => p.cmd === 'suback'));
  };
  const dropConnection = async (raw: RawClient): Promise<void> => {
    raw.socket.destroy();
    await raw.closed;
  };
  const will = (who: { id: string }, delaySeconds: number): NonNullable<RawLogin['will']> => ({
    topic: topics.state(who.id),
    payload: Buffer.from('offline'),
    qos: 1,
    retain: false,
    properties: { willDelayInterval: delaySeconds },
  });

  const backends: Array<{ label: string; nodes: () => readonly [TcpBroker, TcpBroker] }> = [
    { label: 'in memory', nodes: () => [memory, memory] },
    ...(redisAvailable ? [{ label: 'on Redis, coming back on the other node', nodes: () => [nodeA!, nodeB!] as const }] : []),
  ];
  describe.each(backends)('$label', ({ nodes }) => {
    it('[MQTT-3.1.2-23] keeps a session for its expiry interval, then discards it', async () => {
      const [first, second] = nodes();
      const who = first === second ? ALICE : BOB;
      const session = device(first, who, { clean: true, properties: { sessionExpiryInterval: 2 } });
      await connack(session);
      await subscribeCommands(session, who);
      await dropConnection(session);
      await sendCommand(first, who, 'while-away');
      const back = device(second, who, { clean: false, properties: { sessionExpiryInterval: 1 } });
      expect((await connack(back)).sessionPresent).toBe(true);
      await waitUntil('the queued command', () => back.packets.some((p) => p.cmd === 'publish' && p.payload.toString() === 'while-away'));
      const delivered = back.packets.find((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish')!;
      back.send({ cmd: 'puback', messageId: delivered.messageId! });
      await dropConnection(back);
      await sleep(1_600);
      const expired = device(first, who, { clean: false, properties: { sessionExpiryInterval: 0 } });
      expect((await connack(expired)).sessionPresent).toBe(false);
    });

    it('[MQTT-3.1.2-5] sends the queue of a resumed session to a client that asks for an expiry of 0 this time', async () => {
      const [first, second] = nodes();
      const who = first === second ? ALICE : BOB;
      const session = device(first, who, { properties: { sessionExpiryInterval: 60 } });
      await connack(session);
      await subscribeCommands(session, who);
      await dropConnection(session);
      await sendCommand(first, who, 'queued-for-resume');
      const back = device(second, who, { clean: false, properties: { sessionExpiryInterval: 0 } });
      expect((await connack(back)).sessionPresent).toBe(true);
      await waitUntil('the queued command', () => back.packets.some((p) => p.cmd === 'publish' && p.payload.toString() === 'queued-for-resume'));
      // Its interval is 0: the session ends with this connection.
      await dropConnection(back);
      await sleep(200);
      expect((await connack(device(first, who, { clean: false }))).sessionPresent).toBe(false);
    });

    it('[MQTT-3.1.3-9] does not publish a delayed will when the client comes back within the delay, and publishes it after the delay otherwise', async () => {
      const [first, second] = nodes();
      const who = first === second ? ALICE : BOB;
      const watcher = await ingest(first, topics.state(who.id));
      const session = device(first, who, { properties: { sessionExpiryInterval: 30 }, will: will(who, 2) });
      await connack(session);
      await dropConnection(session);
      const back = device(second, who, { clean: false, properties: { sessionExpiryInterval: 30 }, will: will(who, 2) });
      await connack(back);
      await sleep(2_600);
      expect(watcher.publishes.map((p) => p.payload.toString())).toEqual([]);
      const droppedAt = Date.now();
      await dropConnection(back);
      await waitUntil('the will after its delay', () => watcher.publishes.length === 1, 5_000);
      expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(1_900);
      // A will-only property never reaches a subscriber: in a PUBLISH it is a malformed packet.
      expect(watcher.publishes[0]!.properties?.['willDelayInterval' as keyof mqttPacket.IPublishPacket['properties']]).toBeUndefined();
      expect(watcher.publishes[0]!.payload.toString()).toBe('offline');
    });
  });

  describe.skipIf(!redisAvailable)('across the two nodes', () => {
    it("keeps a session the client resumed on the other node when the first node's expiry would have ended it", async () => {
      const session = device(nodeA!, BOB, { properties: { sessionExpiryInterval: 1 } });
      await connack(session);
      await subscribeCommands(session, BOB);
      await dropConnection(session);
      const back = device(nodeB!, BOB, { clean: false, properties: { sessionExpiryInterval: 60 } });
      expect((await connack(back)).sessionPresent).toBe(true);
      // Past node A's timer: the session must still be whole.
      await sleep(1_500);
      await dropConnection(back);
      await sendCommand(nodeA!, BOB, 'kept');
      const again = device(nodeA!, BOB, { clean: false, properties: { sessionExpiryInterval: 0 } });
      expect((await connack(again)).sessionPresent).toBe(true);
      await waitUntil('the command queued for the resumed session', () => again.packets.some((p) => p.cmd === 'publish' && p.payload.toString() === 'kept'));
    });

    it('[MQTT-3.1.4-3] tells the connection on the other node it was taken over, with DISCONNECT 0x8E', async () => {
      const first = device(nodeA!, BOB);
      await connack(first);
      await connack(device(nodeB!, BOB));
      expect(await serverDisconnect(first)).toMatchObject({ reasonCode: 0x8e });
    });
  });
});
