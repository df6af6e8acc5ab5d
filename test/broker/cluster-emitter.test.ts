import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import { clusterNodes, type ClusterNode } from './cluster-nodes.ts';
import { redisClientsOf } from './redis-clients-of.ts';
import { INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

/**
 * The cluster's message bus (broker/cluster-emitter.ts) with two real broker processes over the real
 * Redis: a node's Redis subscriptions do not grow with the devices that subscribe through it (with
 * mqemitter-redis each device's `coffee/v1/{id}/cmd/#` was one more PSUBSCRIBE, which Redis matched
 * against every PUBLISH), messages cross nodes once each, a node's own messages are not doubled,
 * and a node whose subscription Redis drops counts what it missed and hears again.
 */
const DEVICES = Array.from({ length: 25 }, (_, i) => ({ id: `cm-emitter-${i}`, secret: `emitter-secret-${i}-xyz` }));

const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

describe.skipIf(!redisAvailable)('cluster emitter: one Redis subscription per node', () => {
  const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
  const clients: mqtt.MqttClient[] = [];
  let registry: DeviceRegistry;
  let redis: Redis;
  const cluster = clusterNodes(prefix, () => registry);

  const connect = async (url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, clean: true, ...options });
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    client.on('error', () => undefined);
    return client;
  };
  const ingestOn = (node: ClusterNode) =>
    connect(node.url, { clientId: `svc-emitter-${randomBytes(3).toString('hex')}`, username: INGEST.username, password: INGEST.password });
  const deviceOn = (node: ClusterNode, device: (typeof DEVICES)[number]) =>
    connect(node.url, { clientId: device.id, username: device.id, password: device.secret });
  /** Channel and pattern subscriptions the node's process holds in Redis. */
  const subscriptionsOf = async (node: ClusterNode) => {
    const held = await redisClientsOf(node.process.pid!, redis);
    return { channels: held.reduce((n, c) => n + c.sub, 0), patterns: held.reduce((n, c) => n + c.psub, 0), connections: held.length };
  };
  const metric = async (node: ClusterNode, name: string): Promise<number> => {
    const text = await (await fetch(node.metricsUrl!)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
  };

  beforeAll(async () => {
    registry = await startDeviceRegistry(Object.fromEntries(DEVICES.map((d) => [d.id, { secret: d.secret, region: 'eu' }])));
    redis = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await cluster.stopAll();
  });
  afterAll(async () => {
    redis?.disconnect();
    await registry?.close();
  });

  it('keeps its Redis subscriptions constant as devices subscribe, and delivers across nodes and on its own node exactly once', async () => {
    const [deviceNode, otherNode] = await Promise.all([cluster.start(), cluster.start()]);
    const ingestElsewhere = await ingestOn(otherNode);
    const ingestAlongside = await ingestOn(deviceNode);
    await Promise.all([ingestElsewhere, ingestAlongside].map((c) => c.subscribeAsync(topics.filters.allEvents, { qos: 1 })));
    const before = await subscriptionsOf(deviceNode);
    const channelsBefore = ((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).length;
    expect(before.connections).toBeGreaterThan(0);

    const devices = await Promise.all(DEVICES.map((d) => deviceOn(deviceNode, d)));
    await Promise.all(devices.map((c, i) => c.subscribeAsync([topics.filters.deviceCommands(DEVICES[i]!.id), topics.consent(DEVICES[i]!.id)], { qos: 1 })));
    const after = await subscriptionsOf(deviceNode);
    expect({ channels: after.channels, patterns: after.patterns }).toEqual({ channels: before.channels, patterns: before.patterns });
    expect(((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).length).toBe(channelsBefore);

    const heardElsewhere: string[] = [];
    const heardAlongside: string[] = [];
    ingestElsewhere.on('message', (_t, payload: Buffer) => heardElsewhere.push(payload.toString()));
    ingestAlongside.on('message', (_t, payload: Buffer) => heardAlongside.push(payload.toString()));
    await Promise.all(devices.map((c, i) => c.publishAsync(topics.event(DEVICES[i]!.id, 'brew'), `event-${i}`, { qos: 1 })));
    await waitUntil('every event on both nodes', () => heardElsewhere.length >= DEVICES.length && heardAlongside.length >= DEVICES.length, 10_000);

    // And the other way: the node without the devices sends each its own message.
    const consentHeard = devices.map(() => [] as string[]);
    for (const [i, c] of devices.entries()) c.on('message', (_t, payload: Buffer) => consentHeard[i]!.push(payload.toString()));
    await Promise.all(DEVICES.map((d) => ingestElsewhere.publishAsync(topics.consent(d.id), `consent-${d.id}`, { qos: 1 })));
    await waitUntil('each device its consent message', () => consentHeard.every((heard) => heard.length >= 1), 10_000);

    // A duplicate would come right behind the original: give it the time to.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const expected = DEVICES.map((_, i) => `event-${i}`).sort();
    expect([...heardElsewhere].sort()).toEqual(expected);
    expect([...heardAlongside].sort()).toEqual(expected);
    expect(consentHeard).toEqual(DEVICES.map((d) => [`consent-${d.id}`]));
  });

  it('counts and logs the messages a node missed while Redis had dropped its subscription, and delivers again once resubscribed', async () => {
    const [sendingNode, droppedNode] = await Promise.all([cluster.start(0, ['--metrics-port', '0']), cluster.start(0, ['--metrics-port', '0'])]);
    const device = await deviceOn(droppedNode, DEVICES[0]!);
    await device.subscribeAsync(topics.consent(DEVICES[0]!.id), { qos: 0 });
    let heard = 0;
    device.on('message', () => heard++);
    const sender = await ingestOn(sendingNode);
    let sending = true;
    const sent = (async () => {
      for (let i = 0; sending; i++) {
        sender.publish(topics.consent(DEVICES[0]!.id), `c${i}`, { qos: 0 });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    try {
      await waitUntil('messages across nodes', () => heard > 20, 10_000);
      expect(await metric(droppedNode, 'brewtel_broker_cluster_subscriber_drops_total')).toBe(0);
      expect(await metric(droppedNode, 'brewtel_broker_cluster_messages_lost_total')).toBe(0);

      // What Redis does to a subscriber past client-output-buffer-limit pubsub: close its connection.
      const subscriberConnection = (await redisClientsOf(droppedNode.process.pid!, redis)).find((c) => c.sub > 0);
      expect(subscriberConnection).toBeDefined();
      await redis.call('CLIENT', 'KILL', 'ID', subscriberConnection!.id);

      await waitUntil('the drop counted', async () => (await metric(droppedNode, 'brewtel_broker_cluster_subscriber_drops_total')) === 1, 10_000);
      await waitUntil('the missed messages counted', async () => (await metric(droppedNode, 'brewtel_broker_cluster_messages_lost_total')) > 0, 10_000);
      const heardAtRecovery = heard;
      await waitUntil('messages again after resubscribing', () => heard > heardAtRecovery + 20, 10_000);
    } finally {
      sending = false;
      await sent;
    }
  });
});
