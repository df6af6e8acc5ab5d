import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };

async function rawDevice(port: number, who: { id: string; secret: string }): Promise<RawClient> {
  const raw = rawClient(port, { clientId: who.id, username: who.id, password: who.secret });
  expect((await raw.connack).returnCode).toBe(0);
  return raw;
}

describe('broker limits, auth throttling and metrics (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger, {
      limits: { maxConnections: 2, publishPerSecond: 1, publishBurst: 5, maxInFlightIn: 3 },
      authThrottle: { slowAfter: 2, delayMs: 10, maxDelayMs: 50, refuseAfter: 4, refuseMs: 60_000 },
      metricsPort: 0,
    });
  });
  afterEach(() => pool.endAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const device = (who: { id: string; secret: string }) => pool.open(broker.mqttUrl, { clientId: who.id, username: who.id, password: who.secret });

  it('cuts off a client publishing faster than its rate, logging the reason but no payload', async () => {
    const alice = device(ALICE);
    expect(await pool.connack(alice)).toBe(0);
    const closed = new Promise<void>((resolve) => alice.once('close', () => resolve()));
    for (let i = 0; i < 10; i++) alice.publish(topics.event(ALICE.id, 'brew'), `rate-payload-${i}`, { qos: 0 });
    await closed;
    expect(broker.stats().limitDisconnects.publish_rate).toBe(1);
    const line = logs.lines.find((l) => l.includes('"reason":"publish_rate"'));
    expect(line).toContain(ALICE.id);
    expect(logs.lines.join('\n')).not.toContain('rate-payload-');
  });

  it('does not hold a service account to the device rate: the server publishes for the whole fleet', async () => {
    const service = pool.open(broker.mqttUrl, { clientId: INGEST.username, username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(service)).toBe(0);
    const before = broker.stats().limitDisconnects.publish_rate;
    for (let i = 0; i < 20; i++) await service.publishAsync(topics.consent(ALICE.id), `consent-${i}`, { qos: 1, retain: true });
    expect(service.connected).toBe(true);
    expect(broker.stats().limitDisconnects.publish_rate).toBe(before);
  });

  it('cuts off a client holding more QoS 2 messages without PUBREL than maxInFlightIn', async () => {
    const raw = await rawDevice(broker.tcpPort, BOB);
    for (let id = 1; id <= 4; id++)
      raw.send({ cmd: 'publish', topic: topics.event(BOB.id, 'brew'), payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false });
    await raw.closed;
    expect(broker.stats().limitDisconnects.max_in_flight_in).toBe(1);
  });

  it('refuses the connection over maxConnections with CONNACK 3', async () => {
    const alice = device(ALICE);
    const bob = device(BOB);
    expect(await pool.connack(alice)).toBe(0);
    expect(await pool.connack(bob)).toBe(0);
    expect(await pool.connack(pool.open(broker.mqttUrl, { clientId: 'svc-x', username: 'svc-ingest', password: 'whatever-password-123' }))).toBe(3);
    expect(broker.stats().limitDisconnects.max_connections).toBe(1);
  });

  it('slows down, then refuses a source that keeps failing, without asking the registry', async () => {
    for (let i = 0; i < 4; i++) expect(await pool.connack(device({ id: ALICE.id, secret: `wrong-${i}` }))).toBe(4);
    await pool.endAll();
    const asked = registry.requests;
    // Even the right secret is refused now, unchecked.
    expect(await pool.connack(device(ALICE))).toBe(5);
    expect(registry.requests).toBe(asked);
    expect(broker.stats().authThrottled).toBe(1);
    // Another username from the same address is not locked out.
    expect(await pool.connack(device(BOB))).toBe(0);
  });

  it('serves the counters as Prometheus text', async () => {
    await waitUntil('limit counters', () => broker.stats().limitDisconnects.max_connections > 0);
    const response = await fetch(broker.metricsUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^brewtel_broker_limit_disconnects_total\{reason="publish_rate"\} 1$/m);
    expect(text).toMatch(/^brewtel_broker_limit_disconnects_total\{reason="max_in_flight_in"\} 1$/m);
    expect(text).toMatch(/^brewtel_broker_auth_failures_total [1-9]\d*$/m);
    expect(text).toMatch(/^brewtel_broker_connections \d+$/m);
    expect(text).toMatch(/^brewtel_broker_dropped_messages_total [1-9]\d*$/m);
    expect(await broker.metrics()).toContain('brewtel_broker_messages_in_total');
    expect((await fetch(broker.metricsUrl!.replace('/metrics', '/other'))).status).toBe(404);
  });
});
