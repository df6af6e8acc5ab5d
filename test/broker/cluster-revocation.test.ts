import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse } from '../../schema/api.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { clusterNodes, type ClusterNode } from './cluster-nodes.ts';
import { INGEST } from './support.ts';

const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

const ADMIN = 'admin-token-0123456789abcdef';
const BROKER_TOKEN = 'broker-token-0123456789abcdef';

/**
 * An erasure on the two-node cluster: two broker processes over one Redis, a real server attached
 * to node 1 (its ingest and its outbound connection), the device connected to node 2. The server's
 * revocation notice crosses Redis on aedes' emitter, so node 2 closes the session and both nodes
 * refuse the old secret at once, though both had cached it.
 */
describe.skipIf(!redisAvailable)('cluster mode: erasure revokes credentials on every node', () => {
  const prefix = `brewtel-test-${randomBytes(6).toString('hex')}:`;
  let dataDir: string;
  let server: RunningServer;
  const cluster = clusterNodes(prefix, () => ({ url: `${server.httpUrl}/api/v1/broker/device-auth`, token: BROKER_TOKEN }));
  let node1: ClusterNode;
  let node2: ClusterNode;
  const clients: mqtt.MqttClient[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-cluster-revoke-'));
    server = await startServer(
      serverConfigSchema.parse({ regions: ['eu', 'us'], dataDir, http: { port: 0 }, adminToken: ADMIN, brokerToken: BROKER_TOKEN, logLevel: 'silent' }),
      pino({ level: 'silent' }),
    );
    [node1, node2] = await Promise.all([cluster.start(), cluster.start()]);
    server.attachIngest({ url: node1.url, username: INGEST.username, password: INGEST.password, clientId: `svc-revoke-${randomBytes(3).toString('hex')}` });
    await server.whenIngestReady();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await server?.close();
    await cluster.stopAll();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  const login = (node: ClusterNode, device: ProvisionDeviceResponse): { client: mqtt.MqttClient; connack: Promise<number> } => {
    const client = mqtt.connect(node.url, { clientId: device.id, username: device.id, password: device.secret, reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(client);
    const connack = new Promise<number>((resolve) => {
      client.once('connect', () => resolve(0));
      client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
    });
    return { client, connack };
  };

  it('closes the session on node 2 and refuses the old secret on both nodes once a server on node 1 erased the device', async () => {
    const created = await api('POST', '/api/v1/devices', { region: 'eu' });
    expect(created.status).toBe(201);
    const device = provisionDeviceResponseSchema.parse(created.json);
    // Both nodes have verified (and cached) the device.
    const onNode1 = login(node1, device);
    expect(await onNode1.connack).toBe(0);
    await onNode1.client.endAsync();
    const live = login(node2, device);
    expect(await live.connack).toBe(0);
    const closed = new Promise<number>((resolve) => live.client.once('close', () => resolve(Date.now())));

    expect((await api('DELETE', `/api/v1/devices/${device.id}`)).status).toBe(200);
    const answeredAt = Date.now();
    expect(await login(node2, device).connack).toBe(4);
    expect(await login(node1, device).connack).toBe(4);
    expect((await closed) - answeredAt).toBeLessThan(1_000);
  });
});
