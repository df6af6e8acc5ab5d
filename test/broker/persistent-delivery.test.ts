import { randomBytes } from 'node:crypto';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../broker/broker.ts';
import type { BrokerConfigInput } from '../../broker/config.ts';
import { topics } from '../../schema/topics.ts';
import { dropRedisPrefix } from '../chaos/processes.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient } from './support.ts';

/**
 * A QoS 1 message the broker acknowledged must reach a persistent session that subscribed to it, on
 * the in-memory store and on Redis alike. Two ways aedes 1.2 lost such messages (found by the chaos
 * suite, docs/security.md "Delivery that never loses an acknowledged event"): a publish overtaken on
 * its way to the subscribers was skipped as if it were a copy (broker/delivery-dedupe.ts), and a
 * resumed session got only the first 1,001 messages of its queue in Redis (broker/cluster.ts).
 */
const DEVICE = { id: 'cm-delivery-dev', secret: 'delivery-device-secret-0123' };
const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);
const silent = pino({ level: 'silent' });
// The device publishes in bursts here; the publish rate limit is tested elsewhere.
const LIMITS = { limits: { publishPerSecond: 100_000, publishBurst: 100_000 } } satisfies Partial<BrokerConfigInput>;

const publish = (topic: string, payload: string, messageId: number, retain = false): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, retain, dup: false, messageId });

interface IngestSession extends RawClient {
  /** Every QoS 1 PUBLISH it got, each acknowledged at once. */
  received: mqttPacket.IPublishPacket[];
  payloads(topicPart: string): string[];
  subscribe(): Promise<void>;
}

/** The ingest service's persistent session, written by hand on mqtt-packet, independent of mqtt-wire's client. */
function ingestSession(port: number, clientId: string): IngestSession {
  const ingest = rawClient(port, { clientId, username: INGEST.username, password: INGEST.password, clean: false });
  const received: mqttPacket.IPublishPacket[] = [];
  let subacks = 0;
  ingest.socket.on('data', () => {
    for (const packet of ingest.packets) {
      if (packet.cmd === 'publish' && packet.qos === 1) {
        received.push(packet);
        ingest.send({ cmd: 'puback', messageId: packet.messageId! });
      } else if (packet.cmd === 'suback') subacks++;
    }
    ingest.packets.length = 0;
  });
  return Object.assign(ingest, {
    received,
    payloads: (topicPart: string) => received.filter((p) => p.topic.includes(topicPart)).map((p) => p.payload.toString()),
    async subscribe() {
      ingest.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: topics.filters.allEvents, qos: 1 },
          { topic: topics.filters.allStates, qos: 1 },
        ],
      });
      await waitUntil('SUBACK', () => subacks > 0, 10_000);
    },
  });
}

/** The device, writing MQTT by hand so several PUBLISH packets leave in one TCP write. */
async function deviceSession(port: number): Promise<RawClient & { pubacks: Set<number> }> {
  const device = rawClient(port, { clientId: DEVICE.id, username: DEVICE.id, password: DEVICE.secret });
  const pubacks = new Set<number>();
  device.socket.on('data', () => {
    for (const packet of device.packets.splice(0)) if (packet.cmd === 'puback') pubacks.add(packet.messageId!);
  });
  await device.connack;
  return Object.assign(device, { pubacks });
}

describe.each([
  { store: 'memory', cluster: false },
  { store: 'Redis', cluster: true },
])('QoS 1 delivery to a persistent session, $store store', ({ cluster }) => {
  const skip = cluster && !redisAvailable;
  const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
  let registry: DeviceRegistry;
  const open: RawClient[] = [];
  const closers: Array<() => Promise<void>> = [];
  const start = async (): Promise<number> => {
    const broker = await brokerFor(registry, silent, { ...LIMITS, ...(cluster ? { cluster: { redisUrl: REDIS_URL, keyPrefix: prefix } } : {}) });
    closers.push(() => broker.close());
    return broker.tcpPort;
  };

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [DEVICE.id]: { secret: DEVICE.secret, region: 'eu' } });
  });
  afterEach(async () => {
    for (const client of open.splice(0)) client.socket.destroy();
    for (const close of closers.splice(0)) await close();
  });
  afterAll(async () => {
    await registry?.close();
    if (cluster && redisAvailable) await dropRedisPrefix(prefix);
  });

  it.skipIf(skip)('delivers a retained publish and the publishes sent right behind it, all acknowledged, to a connected session', async () => {
    const port = await start();
    const ingest = ingestSession(port, `svc-delivery-${randomBytes(3).toString('hex')}`);
    open.push(ingest);
    await ingest.connack;
    await ingest.subscribe();
    const device = await deviceSession(port);
    open.push(device);

    // What a device does on every connect: `online` (retained), then what it buffered, at once.
    const rounds = 10;
    const eventsPerRound = 5;
    let id = 0;
    for (let round = 0; round < rounds; round++) {
      const burst = [publish(topics.state(DEVICE.id), `online-${round}`, ++id, true)];
      for (let e = 0; e < eventsPerRound; e++) burst.push(publish(topics.event(DEVICE.id, 'brew'), `event-${round}-${e}`, ++id));
      device.socket.write(Buffer.concat(burst));
      await waitUntil('PUBACKs of the burst', () => device.pubacks.size === id, 10_000);
    }

    await waitUntil('every acknowledged message at the ingest', () => ingest.received.length >= id, 10_000).catch(() => undefined);
    expect(ingest.payloads('/state')).toEqual(Array.from({ length: rounds }, (_, r) => `online-${r}`));
    expect(ingest.payloads('/evt/').sort()).toEqual(
      Array.from({ length: rounds * eventsPerRound }, (_, i) => `event-${Math.floor(i / eventsPerRound)}-${i % eventsPerRound}`).sort(),
    );
    expect(ingest.socket.destroyed, 'the ingest session was dropped').toBe(false);
  });

  it.skipIf(skip)(
    'sends a resumed session its whole queue, beyond the first 1,000 messages',
    async () => {
      const port = await start();
      const clientId = `svc-delivery-${randomBytes(3).toString('hex')}`;
      const first = ingestSession(port, clientId);
      open.push(first);
      await first.connack;
      await first.subscribe();
      first.socket.destroy();
      await first.closed;

      // Queued while the ingest is away, as when devices reach a restarted broker before it does.
      const device = await deviceSession(port);
      open.push(device);
      const queued = 1_500;
      const batch: Buffer[] = [];
      for (let i = 1; i <= queued; i++) batch.push(publish(topics.event(DEVICE.id, 'status'), `queued-${i}`, i));
      device.socket.write(Buffer.concat(batch));
      await waitUntil('PUBACKs of every queued message', () => device.pubacks.size === queued, 20_000);

      const resumed = ingestSession(port, clientId);
      open.push(resumed);
      expect((await resumed.connack).sessionPresent).toBe(true);
      await waitUntil('the whole queue', () => new Set(resumed.payloads('/evt/')).size >= queued, 20_000).catch(() => undefined);
      expect(new Set(resumed.payloads('/evt/')).size).toBe(queued);
    },
    60_000,
  );
});

describe.skipIf(!redisAvailable)('an orderly stop of a broker that keeps its state in Redis', () => {
  it('closes and lets go of Redis promptly', async () => {
    const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
    const broker = await startBroker(
      {
        host: '127.0.0.1',
        tcpPort: 0,
        wsPort: null,
        serviceAccounts: [INGEST],
        deviceAuth: { url: 'http://127.0.0.1:9/unused', token: 'registry-token-0123456789', timeoutMs: 1_000 },
        cluster: { redisUrl: REDIS_URL, keyPrefix: prefix },
      },
      silent,
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      broker.close().then(() => 'closed'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still closing after 5 s'), 5_000))),
    ]);
    clearTimeout(timer);
    await dropRedisPrefix(prefix);
    expect(outcome).toBe('closed');
  });
});
