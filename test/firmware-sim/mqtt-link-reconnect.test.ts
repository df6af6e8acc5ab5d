import type { IConnectPacket, IPublishPacket } from 'mqtt-packet';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { MqttClient } from '../../mqtt-wire/client.ts';
import { topics } from '../../schema/topics.ts';
import { craftedBroker, latest, type CraftedBroker, type CraftedConnection } from '../support/crafted-broker.ts';
import { waitFor } from './aedes-server.ts';

/**
 * The device link against a broker written by hand over a real socket (test/support/crafted-broker.ts):
 * events in flight when a connection drops, acknowledgements that name the wrong packet identifier,
 * and a broker that lost the session (CONNACK session present = 0).
 */
describe('the device link across reconnects, against a crafted broker', () => {
  let broker: CraftedBroker | undefined;
  let link: MqttClient | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (link ? link.end(true, resolve) : resolve()));
    await broker?.close();
  });

  /** A link whose `connect`/`close` counts the tests can wait on; reconnecting is the test's call. */
  function openLink(b: CraftedBroker): { link: MqttClient; connects: boolean[]; closes: () => number } {
    const connects: boolean[] = [];
    let closes = 0;
    const l = new MqttClient(
      {
        url: b.url,
        clientId: 'cm-link-test',
        username: 'cm-link-test',
        password: 'x',
        keepaliveS: 60,
        connectTimeoutMs: 5_000,
        will: { topic: 'coffee/v1/cm-link-test/state', payload: 'offline', retain: true },
      },
      { connect: (connack) => void connects.push(connack.sessionPresent), close: () => void closes++, error: () => undefined, message: () => undefined },
    );
    link = l;
    l.open();
    return { link: l, connects, closes: () => closes };
  }

  it('resends what was in flight when the connection dropped first, with the same packet ids and DUP set, before anything new', async () => {
    const b = await craftedBroker();
    broker = b;
    const { link: l, connects, closes } = openLink(b);
    await waitFor(() => connects.length === 1, 5_000, 'first CONNACK');
    const acked: string[] = [];
    for (const name of ['a', 'b', 'c']) l.publish('coffee/v1/cm-link-test/evt/brew', name, {}, () => void acked.push(name));
    await waitFor(() => latest(b).publishes().length === 3, 5_000, 'three PUBLISH');
    const first = latest(b).publishes();
    // b is acknowledged; a and c are in flight when the connection drops.
    latest(b).send({ cmd: 'puback', messageId: first[1]!.messageId! });
    await waitFor(() => acked.length === 1, 5_000, 'PUBACK of b');
    latest(b).socket.destroy();
    await waitFor(() => closes() === 1, 5_000, 'close');
    // Published while offline: never sent yet, so not a redelivery.
    l.publish('coffee/v1/cm-link-test/evt/brew', 'd', {}, () => void acked.push('d'));

    l.open();
    await waitFor(() => b.connections.length === 2 && latest(b).publishes().length === 3, 5_000, 'the resend');
    const resent = latest(b).publishes();
    expect(resent.map((p) => [p.payload.toString(), p.messageId, p.dup])).toEqual([
      ['a', first[0]!.messageId, true],
      ['c', first[2]!.messageId, true],
      ['d', resent[2]!.messageId, false],
    ]);
    expect([first[0]!.messageId, first[2]!.messageId]).not.toContain(resent[2]!.messageId);
    for (const p of resent) latest(b).send({ cmd: 'puback', messageId: p.messageId! });
    await waitFor(() => acked.length === 4, 5_000, 'every PUBACK');
    expect(acked).toEqual(['b', 'a', 'c', 'd']);
    expect(l.unacknowledged).toBe(0);
  });

  it('takes an acknowledgement only for a packet id in flight on that connection, once', async () => {
    const b = await craftedBroker();
    broker = b;
    const { link: l, connects } = openLink(b);
    await waitFor(() => connects.length === 1, 5_000, 'CONNACK');
    const acked: string[] = [];
    l.publish('coffee/v1/cm-link-test/evt/brew', 'a', {}, () => void acked.push('a'));
    await waitFor(() => latest(b).publishes().length === 1, 5_000, 'PUBLISH');
    const id = latest(b).publishes()[0]!.messageId!;
    // Ids nobody is waiting for (a stale or a broken broker's) acknowledge nothing.
    latest(b).send({ cmd: 'puback', messageId: (id % 65_535) + 1 });
    latest(b).send({ cmd: 'puback', messageId: id === 1 ? 2 : id - 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(acked).toEqual([]);
    expect(l.unacknowledged).toBe(1);
    latest(b).send({ cmd: 'puback', messageId: id });
    latest(b).send({ cmd: 'puback', messageId: id });
    await waitFor(() => acked.length > 0, 5_000, 'PUBACK');
    // A second PUBACK for the same id must not acknowledge the next event published under another id.
    l.publish('coffee/v1/cm-link-test/evt/brew', 'b', {}, () => void acked.push('b'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(acked).toEqual(['a']);
    expect(latest(b).publishes()[1]!.messageId).not.toBe(id);
  });
});

describe.each([4, 5] as const)('a device whose broker lost its session (CONNACK session present = 0), protocol level %i', (mqttVersion) => {
  let broker: CraftedBroker | undefined;
  let connection: DeviceConnection | undefined;
  afterEach(async () => {
    await connection?.stop(500);
    await broker?.close();
  });

  it('subscribes again and resends its unacknowledged events; with the session kept it only resends', async () => {
    const b = await craftedBroker(mqttVersion);
    broker = b;
    const deviceId = 'cm-session-lost';
    const counters = new FleetCounters(1);
    connection = new DeviceConnection({
      brokerUrl: b.url,
      mqttVersion,
      deviceId,
      secret: 'x',
      counters,
      logger: pino({ level: 'silent' }),
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 100,
      backoff: { initialMs: 20, maxMs: 50 },
    });
    expect(await connection.firstAttempt()).toBe(true);
    const connect = latest(b).packets.find((p) => p.cmd === 'connect') as IConnectPacket;
    // v5: a session that ends after a day, and an `offline` will held back 30 s; 3.1.1 has neither.
    if (mqttVersion === 5) {
      expect(connect).toMatchObject({ clean: false, properties: { sessionExpiryInterval: 86_400 }, will: { properties: { willDelayInterval: 30 } } });
    } else expect(connect.properties).toBeUndefined();
    const subscribes = (c: CraftedConnection): number => c.packets.filter((p) => p.cmd === 'subscribe').length;
    await waitFor(() => subscribes(latest(b)) === 1, 5_000, 'the first SUBSCRIBE');
    for (let seq = 0; seq < 3; seq++) connection.send('status', JSON.stringify({ seq }));
    const events = (c: CraftedConnection): IPublishPacket[] => c.publishes().filter((p) => p.topic.includes('/evt/'));
    await waitFor(() => events(latest(b)).length === 3, 5_000, 'three events');
    const sent = events(latest(b)).map((p) => [p.payload.toString(), p.messageId]);

    // The broker restarted without its state: nothing acknowledged, the session gone.
    b.sessionPresent = false;
    latest(b).socket.destroy();
    await waitFor(
      () => b.connections.length === 2 && events(latest(b)).length === 3 && subscribes(latest(b)) === 1,
      5_000,
      'resend and SUBSCRIBE after a lost session',
    );
    expect(events(latest(b)).map((p) => [p.payload.toString(), p.messageId])).toEqual(sent);
    const filters = latest(b).packets.flatMap((p) => (p.cmd === 'subscribe' ? p.subscriptions.map((s) => s.topic) : []));
    expect(filters).toEqual([topics.consent(deviceId), topics.filters.deviceCommands(deviceId)]);

    // Kept this time: the same events again, and no SUBSCRIBE.
    b.sessionPresent = true;
    latest(b).socket.destroy();
    await waitFor(() => b.connections.length === 3 && events(latest(b)).length === 3, 5_000, 'resend with the session kept');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(subscribes(latest(b))).toBe(0);
    for (const p of events(latest(b))) latest(b).send({ cmd: 'puback', messageId: p.messageId! });
    await waitFor(() => counters.published === 3, 5_000, 'the three events acknowledged');
    expect(counters.snapshot()).toMatchObject({ published: 3, pending: 0, buffered: 0, failed: 0 });
  });
});
