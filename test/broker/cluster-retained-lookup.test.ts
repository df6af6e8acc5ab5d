import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETAINED_HASH, TOPIC_INDEX } from '../../broker/redis-retained-lookup.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import { startRetainedNode, type RetainedNode as Node } from './redis-retained-node.ts';

/**
 * broker/redis-retained-lookup.ts against the real Redis and the real aedes-persistence-redis 12,
 * under a real aedes 2 node with MQTT clients over TCP: retained messages for exact, `#` and `+`
 * filters, no `$` topic for a leading wildcard [MQTT-4.7.2-1], removal by an empty payload, topics
 * written by the plain library before the index existed found after a restart, and, counted on
 * the node's own Redis connection (every command it sends), no HSCAN for a SUBSCRIBE where the plain
 * library sends hundreds for the same one.
 */
const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

const retained = (topic: string, payload: string) => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false });

describe.skipIf(!redisAvailable)('cluster mode: retained messages looked up by a topic index in Redis', () => {
  // A prefix per test: each starts from an empty Redis of its own.
  const run = `brewtel-test-${randomBytes(6).toString('hex')}`;
  let tests = 0;
  let prefix = '';
  let redis: Redis;
  const nodes: Node[] = [];
  const clients: mqtt.MqttClient[] = [];
  beforeEach(() => {
    prefix = `${run}-${++tests}:`;
    redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  });

  const start = async (indexed = true): Promise<Node> => {
    const node = await startRetainedNode(prefix, indexed);
    nodes.push(node);
    return node;
  };
  const client = async (node: Node): Promise<mqtt.MqttClient> => {
    const c = await mqtt.connectAsync(node.url, { reconnectPeriod: 0, protocolVersion: 5 });
    clients.push(c);
    return c;
  };
  /** Subscribes and collects the retained messages the SUBSCRIBE brings, until none came for 300 ms. */
  const retainedFor = async (node: Node, filters: string[]): Promise<{ topics: string[]; payloads: Map<string, string>; commands: string[] }> => {
    const c = await client(node);
    const topics: string[] = [];
    const payloads = new Map<string, string>();
    c.on('message', (topic, payload, packet) => {
      if (!packet.retain) return;
      topics.push(topic);
      payloads.set(topic, payload.toString());
    });
    const before = node.commands.length;
    await c.subscribeAsync(filters, { qos: 0 });
    let seen = -1;
    await waitUntil('retained messages to stop arriving', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const settled = seen === topics.length;
      seen = topics.length;
      return settled;
    });
    await c.endAsync();
    return { topics: topics.sort(), payloads, commands: node.commands.slice(before) };
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    redis.disconnect();
  });
  afterAll(async () => {
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${run}-*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
  });

  it('answers exact, `#` and `+` filters from the index, each topic once, and sends no HSCAN where the plain library sends hundreds', async () => {
    const node = await start();
    // A fleet's worth of other retained messages, one per device as the server keeps consent.
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => node.persistence.storeRetained(retained(`coffee/v1/dev-${i}/consent`, `c${i}`))));
    const publisher = await client(node);
    const mine = [
      'coffee/v1/me/cmd',
      'coffee/v1/me/cmd/brew',
      'coffee/v1/me/cmd/clean/now',
      'coffee/v1/me/cmd-result/brew',
      'coffee/v1/me/state',
      'coffee/v1/you/state',
    ];
    for (const topic of mine) await publisher.publishAsync(topic, `p:${topic}`, { retain: true, qos: 1 });

    const hash = await retainedFor(node, ['coffee/v1/me/cmd/#']);
    // `#` takes the parent level too [MQTT-4.7.1-2], not a sibling that only shares its characters.
    expect(hash.topics).toEqual(['coffee/v1/me/cmd', 'coffee/v1/me/cmd/brew', 'coffee/v1/me/cmd/clean/now']);
    expect(hash.payloads.get('coffee/v1/me/cmd/brew')).toBe('p:coffee/v1/me/cmd/brew');
    expect(hash.commands).not.toContain('hscan');

    const plus = await retainedFor(node, ['coffee/v1/+/state', 'coffee/v1/me/state', 'coffee/v1/dev-7/consent']);
    expect(plus.topics).toEqual(['coffee/v1/dev-7/consent', 'coffee/v1/me/state', 'coffee/v1/you/state']);
    expect(plus.commands).not.toContain('hscan');
    // A device's own filters: a handful of round trips, not one per few retained messages.
    const own = await retainedFor(node, ['coffee/v1/me/cmd/#', 'coffee/v1/me/consent']);
    expect(own.commands.filter((name) => ['hscan', 'zrangebylex', 'hmget', 'hget'].includes(name)).length).toBeLessThanOrEqual(4);
    await publisher.endAsync();
    await node.close();
    nodes.splice(0);

    // The same SUBSCRIBE answered by the plain library walks the whole hash.
    const plain = await start(false);
    const scanned = await retainedFor(plain, ['coffee/v1/me/cmd/#']);
    expect(scanned.topics).toEqual(hash.topics);
    expect(scanned.commands.filter((name) => name === 'hscan').length).toBeGreaterThan(100);
  });

  it('keeps `$` topics from filters that start with a wildcard, and gives them to a filter that names them', async () => {
    const node = await start();
    await node.persistence.storeRetained(retained('$brewtel/node/1', 'dollar'));
    await node.persistence.storeRetained(retained('plain/x', 'plain'));
    expect((await retainedFor(node, ['#'])).topics).toEqual(['plain/x']);
    expect((await retainedFor(node, ['+/node/1', '+/x'])).topics).toEqual(['plain/x']);
    expect((await retainedFor(node, ['$brewtel/#'])).topics).toEqual(['$brewtel/node/1']);
  });

  it('forgets a retained message stored with an empty payload, in the hash and in the index', async () => {
    const node = await start();
    const publisher = await client(node);
    await publisher.publishAsync('gone/1/cmd/x', 'here', { retain: true, qos: 1 });
    await publisher.publishAsync('gone/1/cmd/y', 'stays', { retain: true, qos: 1 });
    expect((await retainedFor(node, ['gone/1/cmd/#'])).topics).toEqual(['gone/1/cmd/x', 'gone/1/cmd/y']);
    expect(await redis.zscore(TOPIC_INDEX, 'gone/1/cmd/x')).toBe('0');
    await publisher.publishAsync('gone/1/cmd/x', '', { retain: true, qos: 1 });
    await waitUntil('the index to forget the topic', async () => (await redis.zscore(TOPIC_INDEX, 'gone/1/cmd/x')) === null);
    expect(await redis.hexists(RETAINED_HASH, 'gone/1/cmd/x')).toBe(0);
    expect((await retainedFor(node, ['gone/1/cmd/#', 'gone/1/cmd/x'])).topics).toEqual(['gone/1/cmd/y']);
  });

  it('finds topics the plain library stored before the index existed once a node starts, and drops index entries without a message', async () => {
    const plain = await start(false);
    await plain.persistence.storeRetained(retained('old/1/cmd/go', 'from before'));
    await plain.close();
    nodes.splice(0);
    expect(await redis.zscore(TOPIC_INDEX, 'old/1/cmd/go')).toBeNull();
    // An index entry left by a crash between a node's HDEL and its removal from the index.
    await redis.zadd(TOPIC_INDEX, 0, 'old/2/cmd/lost');

    const node = await start();
    expect(await redis.zscore(TOPIC_INDEX, 'old/1/cmd/go')).toBe('0');
    expect(await redis.zscore(TOPIC_INDEX, 'old/2/cmd/lost')).toBeNull();
    const found = await retainedFor(node, ['old/1/cmd/#']);
    expect(found.topics).toEqual(['old/1/cmd/go']);
    expect(found.payloads.get('old/1/cmd/go')).toBe('from before');
    expect(found.commands).not.toContain('hscan');
  });
});
