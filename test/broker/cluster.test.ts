import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import { clusterNodes, type ClusterNode } from './cluster-nodes.ts';
import { INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

/**
 * Cluster mode with two real broker processes (broker/main.ts) sharing one Redis under a key prefix
 * unique to this run: a device on one node, the ingest account on the other, the ingest node
 * crashes (SIGKILL) while it holds messages the ingest has not acknowledged, more arrive while it is
 * down, it restarts on the same port, and not one QoS 1 message for the persistent session is lost.
 */
const ALICE = { id: 'cm-cluster-alice', secret: 'alice-cluster-secret-xyz' };

const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

describe.skipIf(!redisAvailable)('cluster mode: two broker processes over Redis', () => {
  const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
  const clients: mqtt.MqttClient[] = [];
  let registry: DeviceRegistry;
  const cluster = clusterNodes(prefix, () => registry);
  const startNode = (port = 0): Promise<ClusterNode> => cluster.start(port);

  type OnMessage = (topic: string, payload: Buffer, packet: mqtt.IPublishPacket) => void;
  const connect = async (
    url: string,
    options: mqtt.IClientOptions,
    onMessage?: OnMessage,
    ackFirst = Infinity,
  ): Promise<{ client: mqtt.MqttClient; sessionPresent: boolean }> => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    clients.push(client);
    client.on('error', () => undefined);
    if (onMessage) client.on('message', onMessage);
    // mqtt.js answers PUBACK once handleMessage calls back, and reads nothing further until then.
    let acked = 0;
    client.handleMessage = (_packet, done) => {
      if (acked++ < ackFirst) done();
    };
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    return { client, sessionPresent: connack.sessionPresent };
  };

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await cluster.stopAll();
    await registry?.close();
  });

  it('acknowledges a persistent session subscribing to several filters in one packet (what the ingest service sends)', async () => {
    const node = await startNode();
    const options = { clientId: `svc-cluster-${randomBytes(3).toString('hex')}`, username: INGEST.username, password: INGEST.password, clean: false };
    const { client } = await connect(node.url, options);
    const granted = await client.subscribeAsync([topics.filters.allEvents, topics.filters.allStates], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
    await client.endAsync();
    await connect(node.url, { ...options, clean: true });
  });

  it('delivers and shares retained messages across nodes, and keeps a persistent QoS 1 session, with messages in flight, through a crash and restart of its node', async () => {
    const [deviceNode, ingestNode] = await Promise.all([startNode(), startNode()]);
    const received: string[] = [];
    const redelivered: string[] = [];
    const onMessage: OnMessage = (_topic, payload, packet) => {
      received.push(payload.toString());
      if (packet.dup) redelivered.push(payload.toString());
    };
    const ingestOptions = { clientId: `svc-cluster-${randomBytes(3).toString('hex')}`, username: INGEST.username, password: INGEST.password, clean: false };

    // The first ingest connection acknowledges m1..m3 only: m4 and m5 are in flight when its node dies.
    const first = await connect(ingestNode.url, ingestOptions, onMessage, 3);
    await first.client.subscribeAsync(topics.filters.allEvents, { qos: 1 });
    const device = (await connect(deviceNode.url, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret })).client;

    for (let i = 1; i <= 5; i++) await device.publishAsync(topics.event(ALICE.id, 'brew'), `m${i}`, { qos: 1 });
    await waitUntil('live delivery across nodes, up to the unacknowledged m4', () => received.length >= 4, 10_000);
    expect(received).toEqual(['m1', 'm2', 'm3', 'm4']);

    // The ingest node crashes: no clean shutdown, the session lives on in Redis only.
    const exited = new Promise((resolve) => ingestNode.process.once('exit', resolve));
    ingestNode.process.kill('SIGKILL');
    await exited;
    for (let i = 6; i <= 10; i++) await device.publishAsync(topics.event(ALICE.id, 'brew'), `m${i}`, { qos: 1 });

    const restarted = await startNode(ingestNode.port);
    const resumed = await connect(restarted.url, ingestOptions, onMessage);
    expect(resumed.sessionPresent).toBe(true);
    await waitUntil('the queued messages after the restart', () => new Set(received).size >= 10, 15_000);
    expect([...new Set(received)].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    // What was sent and never acknowledged comes again flagged as such ([MQTT-3.3.1-1]); what was
    // queued while the node was down is a first delivery. Whether the PUBACKs of m1..m3 reached Redis and
    // m5 reached the socket before the SIGKILL is a race, so those may or may not come again.
    expect(redelivered).toContain('m4');
    expect(redelivered.filter((m) => !['m1', 'm2', 'm3', 'm4', 'm5'].includes(m))).toEqual([]);

    // Retained messages are shared too: consent set through one node reaches the device on the other.
    await resumed.client.publishAsync(topics.consent(ALICE.id), 'consent-v1', { qos: 1, retain: true });
    const retained = new Promise<string>((resolve) => device.once('message', (_topic, payload: Buffer) => resolve(payload.toString())));
    await device.subscribeAsync(topics.consent(ALICE.id), { qos: 1 });
    expect(await retained).toBe('consent-v1');

    // Leave no session behind in Redis beyond the key cleanup: end it as a client would.
    await resumed.client.endAsync();
    await connect(restarted.url, { ...ingestOptions, clean: true });
  });
});
