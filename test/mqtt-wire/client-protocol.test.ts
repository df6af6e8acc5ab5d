import type { IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { keepaliveAction } from '../../mqtt-wire/keepalive.ts';
import { craftedBroker, latest, type CraftedBroker } from '../support/crafted-broker.ts';
import { waitUntil } from '../support/wait.ts';
import { pool, recorded } from './harness.ts';

/**
 * The client's protocol rules against a broker written by hand on mqtt-packet (so each test decides
 * what the server announces, answers and refuses): MQTT 5 properties, reason codes, flow control,
 * topic aliases, manual acknowledgements, and 3.1.1 alongside.
 */
const brokers: CraftedBroker[] = [];
const clients = pool();
afterEach(async () => {
  await clients.endAll();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});
async function v5Broker(connackProperties: Record<string, unknown> = {}): Promise<CraftedBroker> {
  const broker = await craftedBroker(5);
  broker.connack = () => ({ cmd: 'connack', reasonCode: 0, sessionPresent: broker.sessionPresent, properties: connackProperties });
  brokers.push(broker);
  return broker;
}
const connectOf = (b: CraftedBroker, i = -1): IConnectPacket => b.connections.at(i)!.packets.find((p): p is IConnectPacket => p.cmd === 'connect')!;
const sent = (b: CraftedBroker, i = -1): Packet[] => b.connections.at(i)!.packets;
const settle = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('MQTT 5 CONNECT and CONNACK', () => {
  it('sends its CONNECT properties and will properties; a persistent session without an expiry is sent as "never expires"', async () => {
    const b = await v5Broker();
    const c = clients.add(
      recorded({
        url: b.url,
        clientId: 'cm-v5-connect',
        protocolVersion: 5,
        topicAliasMaximum: 8,
        maximumPacketSize: 65_536,
        properties: { receiveMaximum: 100, requestProblemInformation: true, userProperties: { firmware: '2.1' } },
        will: { topic: 'coffee/v1/cm-v5-connect/state', payload: 'offline', retain: true, properties: { willDelayInterval: 30, contentType: 'text/plain' } },
      }),
    );
    await c.connected();
    const connect = connectOf(b);
    expect(connect).toMatchObject({ protocolVersion: 5, clean: false, clientId: 'cm-v5-connect' });
    expect(connect.properties).toEqual({
      sessionExpiryInterval: 0xffff_ffff,
      receiveMaximum: 100,
      requestProblemInformation: true,
      userProperties: { firmware: '2.1' },
      maximumPacketSize: 65_536,
      topicAliasMaximum: 8,
    });
    expect(connect.will).toMatchObject({
      topic: 'coffee/v1/cm-v5-connect/state',
      qos: 1,
      retain: true,
      properties: { willDelayInterval: 30, contentType: 'text/plain' },
    });
    // 3.1.1 has no properties at all.
    const b4 = await craftedBroker(4);
    brokers.push(b4);
    const c4 = clients.add(
      recorded({
        url: b4.url,
        clientId: 'cm-v4-connect',
        properties: { sessionExpiryInterval: 5 },
        will: { topic: 't', payload: 'x', retain: false, properties: { willDelayInterval: 5 } },
      }),
    );
    await c4.connected();
    expect(connectOf(b4)).toMatchObject({ protocolVersion: 4, clean: false });
    expect(connectOf(b4).properties).toBeUndefined();
  });

  it('reports a refusal with its reason code and server reference (0x9C), and follows it when the owner says so', async () => {
    const elsewhere = await v5Broker();
    const b = await v5Broker();
    b.connack = () => ({
      cmd: 'connack',
      reasonCode: 0x9c,
      sessionPresent: false,
      properties: { serverReference: elsewhere.url, reasonString: 'home plane is eu' },
    });
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-redirect', protocolVersion: 5, reconnect: { initialMs: 20, maxMs: 40 } }));
    await waitUntil('the refusal', () => c.errors.length > 0, 5_000, 10);
    expect(c.errors[0]).toMatchObject({ code: 0x9c, reasonCode: 0x9c, serverReference: elsewhere.url, reasonString: 'home plane is eu' });
    expect(c.connacks).toEqual([]);
    c.client.useUrl(c.errors[0]!.serverReference!);
    await c.connected();
    expect(elsewhere.connections.length).toBe(1);
  });

  it('uses the server keep alive instead of its own [MQTT-3.2.2-21] and an assigned client id on the next connection', async () => {
    const b = await v5Broker({ serverKeepAlive: 1, assignedClientIdentifier: 'auto-7f3a' });
    const c = clients.add(recorded({ url: b.url, clientId: '', protocolVersion: 5, keepaliveS: 600, clean: true }));
    await c.connected();
    await waitUntil('a PINGREQ within the server keep alive', () => sent(b).some((p) => p.cmd === 'pingreq'), 4_000, 20);
    c.client.restart(0);
    await c.connected(2);
    expect(connectOf(b).clientId).toBe('auto-7f3a');
  });

  it('reports a server DISCONNECT with its reason code, then the close', async () => {
    const b = await v5Broker();
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-kicked', protocolVersion: 5 }));
    await c.connected();
    latest(b).send({ cmd: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'session taken over' } });
    await waitUntil('the close', () => c.closes === 1, 5_000, 10);
    expect(c.disconnects).toEqual([{ cmd: 'disconnect', reasonCode: 0x8e, properties: { reasonString: 'session taken over' } }]);
  });
});

describe('MQTT 5 publishing', () => {
  it("hands a PUBACK refusal (0x87) to that publish's callback only; 0x10 no matching subscribers is a success", async () => {
    const b = await v5Broker();
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-refused', protocolVersion: 5 }));
    await c.connected();
    const outcomes = ['a', 'b', 'c'].map((name) =>
      c.publish(`coffee/v1/cm-v5-refused/evt/${name}`, name).then(
        () => 'ok',
        (error: { code: unknown }) => error.code,
      ),
    );
    await waitUntil('three PUBLISH', () => latest(b).publishes().length === 3, 5_000, 10);
    const [a, bb, cc] = latest(b).publishes();
    latest(b).send({ cmd: 'puback', messageId: a!.messageId, reasonCode: 0x87, properties: { reasonString: 'not your topic' } });
    latest(b).send({ cmd: 'puback', messageId: bb!.messageId, reasonCode: 0x10 });
    latest(b).send({ cmd: 'puback', messageId: cc!.messageId });
    expect(await Promise.all(outcomes)).toEqual([0x87, 'ok', 'ok']);
    expect(c.client.unacknowledged).toBe(0);
  });

  it("keeps at most the server's Receive Maximum unacknowledged [MQTT-3.3.4-7], in order", async () => {
    const b = await v5Broker({ receiveMaximum: 2 });
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-quota', protocolVersion: 5 }));
    await c.connected();
    const done = Array.from({ length: 5 }, (_, i) => c.publish('coffee/v1/cm-v5-quota/evt/brew', `m${i}`));
    await settle();
    expect(
      latest(b)
        .publishes()
        .map((p) => p.payload.toString()),
    ).toEqual(['m0', 'm1']);
    for (let acked = 0; acked < 5; acked++) {
      await waitUntil(`PUBLISH #${acked + 1}`, () => latest(b).publishes().length >= Math.min(5, acked + 2), 5_000, 10);
      expect(latest(b).publishes().length).toBe(Math.min(5, acked + 2));
      latest(b).send({ cmd: 'puback', messageId: latest(b).publishes()[acked]!.messageId });
    }
    await Promise.all(done);
    expect(
      latest(b)
        .publishes()
        .map((p) => p.payload.toString()),
    ).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it("refuses a publish larger than the server's Maximum Packet Size without sending it (0x95)", async () => {
    const b = await v5Broker({ maximumPacketSize: 200 });
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-big', protocolVersion: 5 }));
    await c.connected();
    await expect(c.publish('coffee/v1/cm-v5-big/evt/brew', 'x'.repeat(300))).rejects.toMatchObject({ code: 0x95 });
    const small = c.publish('coffee/v1/cm-v5-big/evt/brew', 'small');
    await waitUntil('the small PUBLISH', () => latest(b).publishes().length === 1, 5_000, 10);
    latest(b).send({ cmd: 'puback', messageId: latest(b).publishes()[0]!.messageId });
    await small;
    expect(
      latest(b)
        .publishes()
        .map((p) => p.payload.toString()),
    ).toEqual(['small']);
  });

  it("sends PUBLISH properties, and aliases topics up to the server's maximum, afresh on every connection [MQTT-3.3.2-7]", async () => {
    const b = await v5Broker({ topicAliasMaximum: 2 });
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-alias', protocolVersion: 5, outgoingTopicAliases: true }));
    await c.connected();
    const properties = {
      payloadFormatIndicator: true,
      contentType: 'application/json',
      messageExpiryInterval: 60,
      userProperties: { contract: '1', consent: '4' },
    };
    for (const topic of ['t/1', 't/1', 't/2', 't/3', 't/1']) void c.publish(topic, '{}', { properties });
    await waitUntil('five PUBLISH', () => latest(b).publishes().length === 5, 5_000, 10);
    const wire = (p: IPublishPacket): [string, number | undefined] => [p.topic, p.properties?.topicAlias];
    expect(latest(b).publishes().map(wire)).toEqual([
      ['t/1', 1],
      ['', 1],
      ['t/2', 2],
      ['t/3', undefined],
      ['', 1],
    ]);
    expect(latest(b).publishes()[0]!.properties).toMatchObject(properties);
    // Unacknowledged, so resent on the next connection: with names again, as DUP.
    c.client.restart(0);
    await c.connected(2);
    await waitUntil('the resend', () => latest(b).publishes().length === 5, 5_000, 10);
    expect(
      latest(b)
        .publishes()
        .map((p) => [...wire(p), p.dup]),
    ).toEqual([
      ['t/1', 1, true],
      ['', 1, true],
      ['t/2', 2, true],
      ['t/3', undefined, true],
      ['', 1, true],
    ]);
  });
});

describe('topic names', () => {
  it('refuses a name a broker would close the connection for, without sending it [MQTT-3.3.2-2]', async () => {
    const b = await craftedBroker(4);
    brokers.push(b);
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-topics' }));
    await c.connected();
    for (const topic of ['', 'coffee/v1/+/evt/brew', 'coffee/#', 'nul\u0000here', 'x'.repeat(65_536)]) {
      await expect(c.publish(topic, 'x'), JSON.stringify(topic.slice(0, 20))).rejects.toMatchObject({ code: 'EINVAL' });
    }
    await settle();
    expect(latest(b).publishes()).toEqual([]);
    expect(c.closes).toBe(0);
  });
});

describe('MQTT 5 receiving', () => {
  it('resolves topic aliases the server sets up, and refuses one it never announced with DISCONNECT 0x94', async () => {
    const b = await v5Broker();
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-in-alias', protocolVersion: 5, topicAliasMaximum: 4 }));
    await c.connected();
    const send = (topic: string, alias: number, payload: string): void =>
      latest(b).send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, dup: false, retain: false, properties: { topicAlias: alias } });
    send('coffee/v1/cm-v5-in-alias/cmd/reboot', 1, 'first');
    send('', 1, 'second');
    await waitUntil('two messages', () => c.messages.length === 2, 5_000, 10);
    expect(c.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([
      ['coffee/v1/cm-v5-in-alias/cmd/reboot', 'first'],
      ['coffee/v1/cm-v5-in-alias/cmd/reboot', 'second'],
    ]);
    send('', 9, 'third');
    await waitUntil('the close', () => c.closes === 1, 5_000, 10);
    expect(sent(b).at(-1)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x94 });
    expect(c.errors.map((e) => e.code)).toEqual(['EPROTO']);
  });

  it('answers a malformed packet with DISCONNECT 0x81 before closing', async () => {
    const b = await v5Broker();
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-v5-malformed', protocolVersion: 5 }));
    await c.connected();
    latest(b).socket.write(Buffer.from([0x36, 0x02, 0x00, 0x00]));
    await waitUntil('the close', () => c.closes === 1, 5_000, 10);
    expect(sent(b).at(-1)).toMatchObject({ cmd: 'disconnect', reasonCode: 0x81 });
  });
});

describe.each([4, 5] as const)('manual acknowledgements, protocol level %i', (protocolVersion) => {
  it('acknowledges only what the owner acknowledges, in its order, many at once, on the connection they came on', async () => {
    const b = protocolVersion === 5 ? await v5Broker() : await craftedBroker(4);
    if (protocolVersion === 4) brokers.push(b);
    const c = clients.add(recorded({ url: b.url, clientId: `cm-manual-${protocolVersion}`, protocolVersion, manualAck: true }));
    await c.connected();
    for (let id = 1; id <= 100; id++)
      latest(b).send({ cmd: 'publish', topic: 'coffee/v1/cm-x/evt/brew', payload: Buffer.from(`${id}`), qos: 1, messageId: id, dup: false, retain: false });
    await waitUntil('100 messages', () => c.messages.length === 100, 5_000, 10);
    await settle();
    expect(sent(b).filter((p) => p.cmd === 'puback')).toEqual([]);
    // Out of order, half of them, one with a v5 reason code.
    const chosen = [...c.messages].reverse().filter((m) => m.messageId % 2 === 0);
    for (const m of chosen) c.client.acknowledge(m, m.messageId === 50 ? 0x80 : 0);
    await waitUntil('50 PUBACKs', () => sent(b).filter((p) => p.cmd === 'puback').length === 50, 5_000, 10);
    const pubacks = sent(b).filter((p) => p.cmd === 'puback');
    expect(pubacks.map((p) => p.messageId)).toEqual(chosen.map((m) => m.messageId));
    // 3.1.1 has no reason codes: the PUBACK stays two bytes long.
    expect(pubacks.find((p) => p.messageId === 50)).toMatchObject(protocolVersion === 5 ? { reasonCode: 0x80 } : { length: 2 });
    // A message from an earlier connection is not acknowledged on this one: its id may name another.
    const stale = c.messages.find((m) => m.messageId === 1)!;
    c.client.restart(0);
    await c.connected(2);
    c.client.acknowledge(stale);
    await settle();
    expect(sent(b).filter((p) => p.cmd === 'puback')).toEqual([]);
  });
});

describe('the keepalive rule', () => {
  const K = 10_000;
  it('pings when we were quiet a whole period, or the server was and no ping is out; gives up after 1.5 periods of silence', () => {
    expect(keepaliveAction(100_000, K, 95_000, 99_000, false)).toBe('none');
    expect(keepaliveAction(100_000, K, 90_000, 99_000, false)).toBe('ping');
    expect(keepaliveAction(100_000, K, 99_000, 90_000, false)).toBe('ping');
    expect(keepaliveAction(100_000, K, 99_000, 90_000, true)).toBe('none');
    expect(keepaliveAction(100_000, K, 99_000, 84_999, true)).toBe('dead');
    expect(keepaliveAction(100_000, 0, 0, 0, false)).toBe('none');
    // Checked once a tick: quiet for all but the last tick of a period already pings, so the next
    // check cannot come too late; a period no longer than a tick pings at every tick.
    expect(keepaliveAction(100_000, K, 90_500, 99_000, false, 1_000)).toBe('ping');
    expect(keepaliveAction(100_000, K, 91_500, 99_000, false, 1_000)).toBe('none');
    expect(keepaliveAction(100_000, 1_000, 100_000, 100_000, false, 1_000)).toBe('ping');
  });

  it('closes a connection to a server that stopped answering', async () => {
    const b = await craftedBroker(4);
    brokers.push(b);
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-keepalive', keepaliveS: 1 }));
    await c.connected();
    // The crafted broker never answers PINGREQ.
    await waitUntil('the keepalive close', () => c.closes === 1, 5_000, 20);
    expect(sent(b).some((p) => p.cmd === 'pingreq')).toBe(true);
    expect(c.errors.map((e) => e.code)).toContain('ETIMEDOUT');
  });
});

describe('reconnecting', () => {
  it('comes back by itself with the backoff rule and resends what was unacknowledged; end() stops it', async () => {
    const b = await craftedBroker(4);
    brokers.push(b);
    const c = clients.add(recorded({ url: b.url, clientId: 'cm-reconnects', reconnect: { initialMs: 20, maxMs: 50 } }));
    await c.connected();
    const acked = c.publish('coffee/v1/cm-reconnects/evt/brew', 'once');
    await waitUntil('the PUBLISH', () => latest(b).publishes().length === 1, 5_000, 10);
    latest(b).socket.destroy();
    await c.connected(2);
    await waitUntil('the resend', () => latest(b).publishes().length === 1, 5_000, 10);
    expect(latest(b).publishes()[0]).toMatchObject({ dup: true, payload: Buffer.from('once') });
    latest(b).send({ cmd: 'puback', messageId: latest(b).publishes()[0]!.messageId });
    await acked;
    await c.end();
    await settle(150);
    expect(b.connections.length).toBe(2);
  });
});
