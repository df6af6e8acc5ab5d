import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireTcp, startBroker, type TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient, type RawLogin } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };

/**
 * Defects aedes 1.2 had fixed and aedes 2.0.0-beta.1 has again (it branched off before those
 * fixes), each driven over a real socket against our broker, which wraps them (docs/conformance.md).
 */
describe('broker: aedes 1.2 fixes that 2.0.0-beta.1 lacks, kept by our wrappers', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let open: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  const raws: RawClient[] = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' } });
    broker = await brokerFor(registry, logs.logger);
    open = requireTcp(await startBroker({ host: '127.0.0.1', tcpPort: 0, wsPort: null, unsafePermissiveTestMode: true }, logs.logger));
  });
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await pool.endAll();
  });
  afterAll(async () => {
    await broker?.close();
    await open?.close();
    await registry?.close();
  });

  const raw = (port: number, login: RawLogin): RawClient => {
    const client = rawClient(port, login);
    raws.push(client);
    return client;
  };
  const alice = (more: Partial<RawLogin> = {}): RawClient => raw(broker.tcpPort, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret, ...more });
  const qos2 = (client: RawClient, messageId: number, payload: string): void =>
    client.send({ cmd: 'publish', topic: topics.event(ALICE.id, 'brew'), payload: Buffer.from(payload), qos: 2, messageId, retain: false, dup: false });

  it('[MQTT-3.1.2-6] a clean session does not inherit the QoS 2 packet identifiers of the previous one', async () => {
    const ingest = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-qos2', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(ingest)).toBe(0);
    const received: string[] = [];
    ingest.on('message', (_topic, payload) => received.push(payload.toString()));
    await ingest.subscribeAsync(topics.filters.allEvents, { qos: 2 });
    for (const payload of ['first-session', 'second-session']) {
      const session = alice();
      expect((await session.connack).returnCode).toBe(0);
      // Published, never released: its identifier stays held until the session ends.
      qos2(session, 5, payload);
      await waitUntil(`PUBREC of ${payload}`, () => session.packets.some((p) => p.cmd === 'pubrec'));
      session.socket.destroy();
      await session.closed;
      await waitUntil(`${payload} delivered`, () => received.includes(payload));
    }
    expect(received).toEqual(['first-session', 'second-session']);
  });

  it('survives two PUBRELs for one packet identifier in one read (aedes 2 let the second delete escape and end the process)', async () => {
    const session = alice({ version: 5 });
    expect((await session.connack).reasonCode).toBe(0);
    qos2(session, 9, 'released-twice');
    await waitUntil('PUBREC', () => session.packets.some((p) => p.cmd === 'pubrec'));
    session.socket.write(Buffer.concat([Buffer.from([0x62, 0x02, 0x00, 0x09]), Buffer.from([0x62, 0x02, 0x00, 0x09])]));
    await waitUntil('PUBCOMP for each', () => session.packets.filter((p) => p.cmd === 'pubcomp').length === 2);
    expect(session.socket.destroyed).toBe(false);
  });

  it('closes an MQTT 5 SUBSCRIBE listing __proto__ with another filter instead of crashing the broker', async () => {
    const session = alice({ version: 5 });
    expect((await session.connack).reasonCode).toBe(0);
    session.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: '__proto__', qos: 1 },
        { topic: topics.consent(ALICE.id), qos: 1 },
      ],
    });
    await session.closed;
    // Still serving.
    const next = alice({ version: 5 });
    expect((await next.connack).reasonCode).toBe(0);
  });

  it('takes over the session of a client id named after an Object.prototype member (GHSA-52qw-whmv-87c5)', async () => {
    const first = raw(open.tcpPort, { clientId: 'constructor', version: 5 });
    expect((await first.connack).reasonCode).toBe(0);
    const second = raw(open.tcpPort, { clientId: 'constructor', version: 5 });
    expect((await second.connack).reasonCode).toBe(0);
    await first.closed;
    expect(first.packets.at(-1)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x8e });
  });

  it("does not let an UNSUBSCRIBE of 'constructor' remove other clients' subscriptions to that topic", async () => {
    const subscriber = pool.open(open.mqttUrl, { protocolVersion: 5, clientId: 'listener' });
    expect(await pool.connack(subscriber)).toBe(0);
    const heard: string[] = [];
    subscriber.on('message', (_topic, payload) => heard.push(payload.toString()));
    await subscriber.subscribeAsync('constructor', { qos: 1 });
    const other = pool.open(open.mqttUrl, { protocolVersion: 5, clientId: 'other' });
    expect(await pool.connack(other)).toBe(0);
    await other.unsubscribeAsync('constructor');
    await other.publishAsync('constructor', 'still-heard', { qos: 1 });
    await waitUntil('delivery to the subscriber', () => heard.includes('still-heard'));
  });
});
