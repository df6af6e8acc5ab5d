import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTcp, startBroker, type TcpBroker } from '../../broker/broker.ts';
import { brokerConfigSchema } from '../../broker/config.ts';
import { ListenError } from '../../broker/listeners.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const MAX_PACKET = 64 * 1024;

describe('broker transport (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();

  const ingestReceiving = async (): Promise<string[]> => {
    const received: string[] = [];
    const ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    ingest.on('message', (_topic, payload) => received.push(payload.toString().slice(0, 20)));
    await ingest.subscribeAsync(topics.filters.allEvents, { qos: 1 });
    return received;
  };

  const alice = async (url: string): Promise<mqtt.MqttClient> => {
    const client = pool.open(url, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
    expect(await pool.connack(client)).toBe(0);
    return client;
  };

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' } });
    broker = await brokerFor(registry, logs.logger, { wsPort: 0, maxPacketBytes: MAX_PACKET });
  });

  afterEach(() => pool.endAll());

  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  it('reports both listeners and their URLs', () => {
    expect(broker.tcpPort).toBeGreaterThan(0);
    expect(broker.wsPort).toBeGreaterThan(0);
    expect(broker.mqttUrl).toBe(`mqtt://127.0.0.1:${broker.tcpPort}`);
    expect(broker.wsUrl).toBe(`ws://127.0.0.1:${broker.wsPort}/mqtt`);
  });

  it('serves MQTT over WebSocket with the same rights', async () => {
    const received = await ingestReceiving();
    const client = await alice(broker.wsUrl as string);
    await client.publishAsync(topics.event(ALICE.id, 'brew'), 'over-ws', { qos: 1 });
    await waitUntil('ws message at ingest', () => received.includes('over-ws'), 5_000);
    const refused = pool.open(broker.wsUrl as string, { clientId: ALICE.id, username: ALICE.id, password: 'wrong' });
    expect(await pool.connack(refused)).toBe(4);
  });

  it.each(['tcp', 'ws'] as const)('drops a %s connection that sends a packet over maxPacketBytes, delivering nothing', async (transport) => {
    const received = await ingestReceiving();
    const client = await alice(transport === 'tcp' ? broker.mqttUrl : (broker.wsUrl as string));
    const before = broker.stats().oversizePackets;
    await client.publishAsync(topics.event(ALICE.id, 'status'), `fits${'.'.repeat(MAX_PACKET - 200)}`, { qos: 1 });
    const gone = new Promise<string>((resolve) => client.once('close', () => resolve('closed')));
    client.publish(topics.event(ALICE.id, 'brew'), `too-big${'.'.repeat(MAX_PACKET)}`, { qos: 1 });
    expect(await gone).toBe('closed');
    expect(broker.stats().oversizePackets).toBe(before + 1);
    await waitUntil('the packet that fits', () => received.includes(`fits${'.'.repeat(16)}`), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received.filter((r) => r.startsWith('too-big'))).toEqual([]);
  });

  it('runs with its TCP listener switched off: no TCP URL, WebSocket serves alone', async () => {
    const wsOnly = await startBroker(
      { host: '127.0.0.1', tcpPort: null, wsPort: 0, serviceAccounts: [INGEST], deviceAuth: { url: registry.url, token: registry.token } },
      logs.logger,
    );
    try {
      expect([wsOnly.tcpPort, wsOnly.mqttUrl, wsOnly.mqttsUrl]).toEqual([null, null, null]);
      expect(() => requireTcp(wsOnly)).toThrow(/TCP listener/);
      const client = await alice(wsOnly.wsUrl as string);
      await client.publishAsync(topics.event(ALICE.id, 'brew'), 'ws-only', { qos: 1 });
      expect(wsOnly.stats().messagesIn).toBe(1);
    } finally {
      await wsOnly.close();
    }
    expect(() => brokerConfigSchema.parse({ tcpPort: null, wsPort: null, deviceAuth: { url: registry.url, token: registry.token } })).toThrow(
      /every MQTT listener is off/,
    );
  });

  it('rejects with a ListenError naming the listener and port when a port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const tcpError = await brokerFor(registry, logs.logger, { tcpPort: taken }).catch((error: unknown) => error);
      expect(tcpError).toBeInstanceOf(ListenError);
      expect(tcpError).toMatchObject({ listener: 'tcp', port: taken, code: 'EADDRINUSE' });
      const wsError = await brokerFor(registry, logs.logger, { wsPort: taken }).catch((error: unknown) => error);
      expect(wsError).toMatchObject({ listener: 'ws', port: taken, code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('close() ends open connections, including ones still authenticating, and resolves', async () => {
    const own = await brokerFor(registry, logs.logger, { wsPort: 0 });
    const tcpClient = await alice(own.mqttUrl);
    const wsClient = pool.open(own.wsUrl as string, { clientId: 'svc-ingest', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(wsClient)).toBe(0);
    expect(own.stats().connections).toBe(2);
    registry.hang = true;
    const asked = registry.requests;
    const pending = pool.open(own.mqttUrl, { clientId: 'cm-pending0001', username: 'cm-pending0001', password: 'x' });
    await waitUntil('the pending check at the registry', () => registry.requests > asked, 5_000);
    const closes = [tcpClient, wsClient, pending].map((c) => new Promise<void>((resolve) => c.once('close', () => resolve())));
    try {
      await own.close();
      await Promise.all(closes);
      expect(pending.connected).toBe(false);
    } finally {
      registry.hang = false;
    }
  });
});
