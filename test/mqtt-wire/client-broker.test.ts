import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { brokerFor, captureLogs, INGEST, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { waitUntil } from '../support/wait.ts';
import { pool, recorded } from './harness.ts';

/**
 * mqtt-wire's client against our own broker (MQTT 3.1.1 until the broker speaks 5), over every
 * transport the client opens: TCP, TLS, WebSocket, and WebSocket over TLS.
 */
const ALICE = { id: 'cm-wirealice1', secret: 'alice-one-time-secret-wire' };
const DEV_CA = join(import.meta.dirname, '../../broker/dev-ca.sh');
const opensslPresent = spawnSync('openssl', ['version']).status === 0;
if (!opensslPresent && process.env.CI === 'true') throw new Error('openssl is missing (.ci/debian-packages.txt lists it)');

describe('the client against our broker', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let dir: string;
  let wss: { url: string; close(): Promise<void> } | undefined;
  const clients = pool();
  const ingestId = `svc-wire-${randomBytes(4).toString('hex')}`;
  const ingest = (extra: Parameters<typeof recorded>[0] extends infer O ? Partial<O> : never = {}) =>
    clients.add(recorded({ url: broker.mqttUrl, clientId: ingestId, username: INGEST.username, password: INGEST.password, ...extra }));
  const alice = (url: string, extra = {}) =>
    clients.add(recorded({ url, clientId: ALICE.id, username: ALICE.id, password: ALICE.secret, clean: true, ...extra }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'brewtel-wire-'));
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' } });
    let tls = {};
    if (opensslPresent) {
      const made = spawnSync(DEV_CA, [dir], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
      tls = { tls: { port: 0, certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') } };
      wss = await startWssAedes(readFileSync(join(dir, 'server.crt')), readFileSync(join(dir, 'server.key')));
    }
    broker = await brokerFor(registry, captureLogs().logger, { wsPort: 0, ...tls });
  });
  afterEach(() => clients.endAll());
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
    await wss?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes QoS 1 from a device to a subscriber over TCP and WebSocket, each acknowledged', async () => {
    const sub = ingest({ clean: true });
    await sub.connected();
    expect(await sub.subscribe(topics.filters.allEvents, topics.filters.allStates)).toEqual([1, 1]);
    for (const url of [broker.mqttUrl, broker.wsUrl!]) {
      const device = alice(url);
      await device.connected();
      await device.publish(topics.event(ALICE.id, 'brew'), `via ${new URL(url).protocol}`);
      await device.end();
    }
    await waitUntil('both events', () => sub.messages.length === 2, 5_000, 10);
    expect(sub.messages.map((m) => [m.topic, m.payload.toString(), m.qos])).toEqual([
      [topics.event(ALICE.id, 'brew'), 'via mqtt:', 1],
      [topics.event(ALICE.id, 'brew'), 'via ws:', 1],
    ]);
  });

  it.skipIf(!opensslPresent)('connects over TLS and over WebSocket with TLS, trusting a private CA', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const overTls = alice(broker.mqttsUrl!.replace('127.0.0.1', 'localhost'), { tls: { ca } });
    await overTls.connected();
    await overTls.publish(topics.event(ALICE.id, 'status'), '{}');
    const overWss = clients.add(recorded({ url: wss!.url, clientId: 'cm-wire-wss', tls: { ca } }));
    await overWss.connected();
    expect(await overWss.subscribe('wss/echo')).toEqual([1]);
    await overWss.publish('wss/echo', Buffer.alloc(70_000, 7));
    await waitUntil('the echo over wss', () => overWss.messages.length === 1, 5_000, 10);
    expect(overWss.messages[0]!.payload.length).toBe(70_000);
    // Without the CA the certificate is refused.
    const untrusted = clients.add(recorded({ url: broker.mqttsUrl!, clientId: 'cm-wire-untrusted' }));
    await waitUntil('the TLS refusal', () => untrusted.errors.length > 0, 5_000, 10);
    expect(untrusted.connacks).toEqual([]);
  });

  it('reports a refused login with the CONNACK return code', async () => {
    const wrong = clients.add(recorded({ url: broker.mqttUrl, clientId: ALICE.id, username: ALICE.id, password: 'not-the-secret' }));
    await waitUntil('the refusal', () => wrong.errors.some((e) => typeof e.code === 'number'), 5_000, 10);
    // 4: bad user name or password (3.1.1 §3.2.2.3).
    expect(wrong.errors.find((e) => typeof e.code === 'number')?.code).toBe(4);
    expect(wrong.connacks).toEqual([]);
  });

  it('in manual-ack mode gets again, flagged DUP, exactly what it had not acknowledged when it reconnects', async () => {
    const first = ingest({ manualAck: true });
    await first.connected();
    await first.subscribe(topics.filters.allEvents);
    const device = alice(broker.mqttUrl);
    await device.connected();
    await Promise.all(Array.from({ length: 40 }, (_, i) => device.publish(topics.event(ALICE.id, 'brew'), `e${i}`)));
    await waitUntil('40 events', () => first.messages.length === 40, 5_000, 10);
    // Acknowledged out of order: every third, from the last.
    const acked = [...first.messages].reverse().filter((_, i) => i % 3 === 0);
    for (const m of acked) first.client.acknowledge(m);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await first.end(true);
    const again = ingest({ manualAck: true });
    await again.connected();
    expect(again.connacks[0]!.sessionPresent).toBe(true);
    const expected = first.messages.filter((m) => !acked.includes(m)).map((m) => m.payload.toString());
    await waitUntil('the redeliveries', () => again.messages.length === expected.length, 5_000, 10);
    expect(again.messages.map((m) => m.payload.toString())).toEqual(expected);
    expect(again.messages.every((m) => m.dup)).toBe(true);
    for (const m of again.messages) again.client.acknowledge(m);
    await again.end();
    const cleanUp = ingest({ clean: true });
    await cleanUp.connected();
  });

  it('writes nothing after its DISCONNECT [MQTT-3.14.4-1]: an ack due after end() is dropped, not a write error', async () => {
    const sub = ingest({ manualAck: true, clean: true });
    await sub.connected();
    await sub.subscribe(topics.filters.allEvents);
    const device = alice(broker.mqttUrl);
    await device.connected();
    await device.publish(topics.event(ALICE.id, 'brew'), 'acknowledged too late');
    await waitUntil('the event', () => sub.messages.length === 1, 5_000, 10);
    const ended = sub.end();
    // Due after the DISCONNECT went out: flushed on the next turn, when the socket is ending.
    sub.client.acknowledge(sub.messages[0]!);
    await ended;
    await new Promise((resolve) => setImmediate(resolve));
    expect(sub.errors.map((e) => e.code ?? e.message)).toEqual([]);
  });
});

/** A plain aedes behind WebSocket over TLS (our broker has no wss listener), with the dev CA's certificate. */
async function startWssAedes(cert: Buffer, key: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server: HttpsServer = createHttpsServer({ cert, key });
  const sockets = new WebSocketServer({ server, handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false) });
  sockets.on('connection', (socket) => aedes.handle(createWebSocketStream(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `wss://localhost:${(server.address() as AddressInfo).port}/mqtt`,
    async close() {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
