import type mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry, type RawClient } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
const MAX_IN_FLIGHT_OUT = 3;

const publishes = (raw: RawClient): mqttPacket.IPublishPacket[] => raw.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');

/**
 * QoS 1 deliveries a client leaves unacknowledged: capped per client, and re-sent with DUP=1 and
 * the same packet identifier when a persistent session resumes ([MQTT-4.4.0-1], [MQTT-3.3.1-1]).
 */
describe('outbound in-flight cap and redelivery (real sockets)', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const pool = clientPool();
  const raws: RawClient[] = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry({ [ALICE.id]: { secret: ALICE.secret, region: 'eu' }, [BOB.id]: { secret: BOB.secret, region: 'us' } });
    broker = await brokerFor(registry, logs.logger, { limits: { maxInFlightOut: MAX_IN_FLIGHT_OUT } });
  });
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await pool.endAll();
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const device = async (who: { id: string; secret: string }, clean: boolean): Promise<RawClient> => {
    const raw = rawClient(broker.tcpPort, { clientId: who.id, username: who.id, password: who.secret, clean });
    raws.push(raw);
    expect((await raw.connack).returnCode).toBe(0);
    return raw;
  };
  const subscribeCommands = async (raw: RawClient, who: { id: string }): Promise<void> => {
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topics.filters.deviceCommands(who.id), qos: 1 }] });
    await waitUntil('SUBACK', () => raw.packets.some((p) => p.cmd === 'suback'), 5_000);
  };
  const operator = async () => {
    const client = pool.open(broker.mqttUrl, { clientId: 'svc-ingest-pub', username: INGEST.username, password: INGEST.password });
    expect(await pool.connack(client)).toBe(0);
    return client;
  };
  const finish = async (raw: RawClient): Promise<void> => {
    raw.send({ cmd: 'disconnect' });
    await raw.closed;
  };

  it('cuts off a client that leaves more QoS 1 deliveries unacknowledged than the cap, logging no payload; its persistent session keeps them', async () => {
    const bob = await device(BOB, false);
    await subscribeCommands(bob, BOB);
    const ops = await operator();
    for (let i = 1; i <= MAX_IN_FLIGHT_OUT; i++) await ops.publishAsync(topics.command(BOB.id, 'reboot'), `secret-cmd-${i}`, { qos: 1 });
    await waitUntil('three deliveries', () => publishes(bob).length === MAX_IN_FLIGHT_OUT, 5_000);
    expect(bob.socket.destroyed).toBe(false);
    expect(broker.stats().limitDisconnects.max_in_flight_out).toBe(0);

    await ops.publishAsync(topics.command(BOB.id, 'reboot'), `secret-cmd-${MAX_IN_FLIGHT_OUT + 1}`, { qos: 1 });
    await bob.closed;
    expect(broker.stats().limitDisconnects.max_in_flight_out).toBe(1);
    expect(await broker.metrics()).toMatch(/^brewtel_broker_limit_disconnects_total\{reason="max_in_flight_out"\} 1$/m);
    expect(logs.lines.find((l) => l.includes('"reason":"max_in_flight_out"'))).toContain(BOB.id);
    expect(logs.lines.join('\n')).not.toContain('secret-cmd-');

    // Nothing is lost: every unacknowledged command comes back, flagged as a re-delivery.
    const back = await device(BOB, false);
    await waitUntil('the redelivered commands', () => publishes(back).length >= MAX_IN_FLIGHT_OUT + 1, 5_000);
    expect(publishes(back).map((p) => [p.payload.toString(), p.dup])).toEqual(
      Array.from({ length: MAX_IN_FLIGHT_OUT + 1 }, (_, i) => [`secret-cmd-${i + 1}`, true]),
    );
    // Re-sent on resume, they do not count against the cap (aedes sends a whole queue at once).
    expect(back.socket.destroyed).toBe(false);
    for (const p of publishes(back)) back.send({ cmd: 'puback', messageId: p.messageId! });
    await finish(back);
    const clean = await device(BOB, true);
    await finish(clean);
  });

  it('never cuts off a client that acknowledges, however many messages it gets', async () => {
    const received: string[] = [];
    const alice = pool.open(broker.mqttUrl, { clientId: ALICE.id, username: ALICE.id, password: ALICE.secret });
    expect(await pool.connack(alice)).toBe(0);
    alice.on('message', (_topic, payload) => received.push(payload.toString()));
    await alice.subscribeAsync(topics.filters.deviceCommands(ALICE.id), { qos: 1 });
    const ops = await operator();
    const before = broker.stats().limitDisconnects.max_in_flight_out;
    for (let i = 0; i < 5 * MAX_IN_FLIGHT_OUT; i++) await ops.publishAsync(topics.command(ALICE.id, 'reboot'), `c${i}`, { qos: 1 });
    await waitUntil('every command', () => received.length === 5 * MAX_IN_FLIGHT_OUT, 5_000);
    expect(alice.connected).toBe(true);
    expect(broker.stats().limitDisconnects.max_in_flight_out).toBe(before);
  });

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] re-sends an unacknowledged QoS 1 message on resume with its packet id and DUP=1; one queued while offline goes out with DUP=0', async () => {
    const first = await device(ALICE, false);
    await subscribeCommands(first, ALICE);
    const ops = await operator();
    await ops.publishAsync(topics.command(ALICE.id, 'reboot'), 'sent-once', { qos: 1 });
    await waitUntil('the first delivery', () => publishes(first).length === 1, 5_000);
    const [original] = publishes(first);
    expect(original!.dup).toBe(false);
    const connected = broker.stats().connections;
    first.socket.destroy();
    await first.closed;
    // Until the broker itself sees the drop, a message is still sent to the dead connection and is then
    // rightly a re-delivery (DUP=1) on resume.
    await waitUntil('the broker to see the drop', () => broker.stats().connections < connected, 5_000);
    await ops.publishAsync(topics.command(ALICE.id, 'set-recipe'), 'queued-offline', { qos: 1 });

    const resumed = await device(ALICE, false);
    expect((await resumed.connack).sessionPresent).toBe(true);
    await waitUntil('both messages', () => publishes(resumed).length === 2, 5_000);
    const [again, queued] = publishes(resumed);
    expect([again!.payload.toString(), again!.messageId, again!.dup]).toEqual(['sent-once', original!.messageId, true]);
    expect([queued!.payload.toString(), queued!.dup]).toEqual(['queued-offline', false]);
    for (const p of publishes(resumed)) resumed.send({ cmd: 'puback', messageId: p.messageId! });
    await finish(resumed);

    // Acknowledged means gone: the next resume brings nothing back.
    const later = await device(ALICE, false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(publishes(later)).toEqual([]);
    await finish(later);
    await finish(await device(ALICE, true));
  });
});
