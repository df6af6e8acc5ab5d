import type mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import type { Identity } from '../../broker/identity.ts';
import { topics } from '../../schema/topics.ts';
import { waitUntil } from '../support/wait.ts';
import {
  brokerFor,
  captureLogs,
  INGEST,
  rawClient,
  serverDisconnect,
  startDeviceRegistry,
  type DeviceRegistry,
  type RawClient,
  type RawLogin,
} from './support.ts';

const ALICE = { id: 'cm-acc-alice', secret: 'alice-access-secret-xyz' };
const BOB = { id: 'cm-acc-bob', secret: 'bob-access-secret-abc' };
const ROAMER = { id: 'cm-acc-roamer', secret: 'roamer-access-secret-1' };
const HOME_PLANE = 'mqtts://us.planes.example:8883';

/** The topic policy and limits applied to MQTT 5 features, and the redirect hook, against raw v5 clients. */
describe('broker: MQTT 5 features under the topic policy', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  const logs = captureLogs();
  const raws: RawClient[] = [];
  const asked: Identity[] = [];

  beforeAll(async () => {
    registry = await startDeviceRegistry({
      [ALICE.id]: { secret: ALICE.secret, region: 'eu' },
      [BOB.id]: { secret: BOB.secret, region: 'eu' },
      [ROAMER.id]: { secret: ROAMER.secret, region: 'us' },
    });
    broker = await brokerFor(registry, logs.logger, {
      limits: { topicAliasMaximum: 4 },
      // This plane serves eu; a us device is sent to its home plane.
      redirect: (identity) => {
        asked.push(identity);
        return identity.kind === 'device' && identity.region !== 'eu' ? HOME_PLANE : null;
      },
    });
  });
  afterEach(() => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
  });
  afterAll(async () => {
    await broker?.close();
    await registry?.close();
  });

  const open = (login: RawLogin): RawClient => {
    const raw = rawClient(broker.tcpPort, { version: 5, ...login });
    raws.push(raw);
    return raw;
  };
  const device = async (who: { id: string; secret: string }, more: Partial<RawLogin> = {}): Promise<RawClient> => {
    const raw = open({ clientId: who.id, username: who.id, password: who.secret, ...more });
    expect((await raw.connack).reasonCode).toBe(0);
    return raw;
  };
  const ingest = async (filters: string[], more: Partial<RawLogin> = {}): Promise<RawClient> => {
    const raw = open({ clientId: `svc-acc-${Math.random().toString(36).slice(2, 8)}`, username: INGEST.username, password: INGEST.password, ...more });
    expect((await raw.connack).reasonCode).toBe(0);
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
    await waitUntil('SUBACK', () => raw.packets.some((p) => p.cmd === 'suback'));
    return raw;
  };
  const publishes = (raw: RawClient): mqttPacket.IPublishPacket[] => raw.packets.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
  const pubackOf = (raw: RawClient, messageId: number) =>
    raw.packets.find((p) => p.cmd === 'puback' && p.messageId === messageId) as mqttPacket.IPubackPacket | undefined;
  const publish = (raw: RawClient, topic: string, messageId: number, properties?: mqttPacket.IPublishPacket['properties'], payload = 'x'): void =>
    raw.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false, ...(properties ? { properties } : {}) });

  it('sends a device of another plane to its home plane with CONNACK 0x9C and the Server Reference, after authenticating it', async () => {
    const roamer = open({ clientId: ROAMER.id, username: ROAMER.id, password: ROAMER.secret });
    expect(await roamer.connack).toMatchObject({ reasonCode: 0x9c, properties: { serverReference: HOME_PLANE } });
    await roamer.closed;
    expect(asked).toContainEqual({ kind: 'device', deviceId: ROAMER.id, region: 'us' });
    // A wrong secret never reaches the hook: it is refused as such, and no plane is revealed.
    const guesser = open({ clientId: ROAMER.id, username: ROAMER.id, password: 'not-the-roamer-secret' });
    expect(await guesser.connack).toMatchObject({ reasonCode: 0x86 });
    expect((await guesser.connack).properties?.serverReference).toBeUndefined();
    // 3.1.1 cannot carry a reference: CONNACK 3, and the device asks the directory again.
    const old = rawClient(broker.tcpPort, { clientId: ROAMER.id, username: ROAMER.id, password: ROAMER.secret });
    raws.push(old);
    expect((await old.connack).returnCode).toBe(3);
    expect(broker.stats().redirects).toBe(2);
    // A device of this plane is let in.
    await device(ALICE);
  });

  it("resolves a topic alias before the topic policy: an alias set on its own topic works, one set on another device's topic is refused every time", async () => {
    const watcher = await ingest([topics.filters.allEvents]);
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'brew'), 1, { topicAlias: 1 }, 'first');
    publish(alice, '', 2, { topicAlias: 1 }, 'by-alias');
    publish(alice, topics.event(BOB.id, 'brew'), 3, { topicAlias: 2 }, 'foreign');
    publish(alice, '', 4, { topicAlias: 2 }, 'foreign-by-alias');
    await waitUntil('four PUBACKs', () => [1, 2, 3, 4].every((id) => pubackOf(alice, id)));
    expect([1, 2, 3, 4].map((id) => pubackOf(alice, id)!.reasonCode ?? 0)).toEqual([0, 0, 0x87, 0x87]);
    await waitUntil('two deliveries', () => publishes(watcher).length === 2);
    expect(publishes(watcher).map((p) => [p.topic, p.payload.toString()])).toEqual([
      [topics.event(ALICE.id, 'brew'), 'first'],
      [topics.event(ALICE.id, 'brew'), 'by-alias'],
    ]);
    // The alias is the publisher's, never forwarded.
    expect(publishes(watcher).every((p) => p.properties?.topicAlias === undefined)).toBe(true);
  });

  it('disconnects a client using an alias above the Topic Alias Maximum with DISCONNECT 0x94', async () => {
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'brew'), 1, { topicAlias: 5 });
    expect(await serverDisconnect(alice)).toMatchObject({ reasonCode: 0x94 });
  });

  it("[MQTT-3.3.2-12] an alias re-mapped to another device's topic is judged by that topic: the publish and every later use of the alias get PUBACK 0x87", async () => {
    const watcher = await ingest([topics.filters.allEvents, topics.filters.allStates]);
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'status'), 1, { topicAlias: 1 }, 'own');
    publish(alice, '', 2, { topicAlias: 1 }, 'own-by-alias');
    // Same alias, new topic: the mapping changes (v5 §3.3.2.3.4) even though the publish is refused.
    publish(alice, topics.event(BOB.id, 'status'), 3, { topicAlias: 1 }, 'foreign');
    publish(alice, '', 4, { topicAlias: 1 }, 'foreign-by-alias');
    // Retained goes through the policy's retain rule with the real topic too: the own state is allowed, another's is not.
    alice.send({
      cmd: 'publish',
      topic: topics.state(ALICE.id),
      payload: Buffer.from('online'),
      qos: 1,
      messageId: 5,
      retain: true,
      dup: false,
      properties: { topicAlias: 2 },
    });
    alice.send({ cmd: 'publish', topic: '', payload: Buffer.from('online'), qos: 1, messageId: 6, retain: true, dup: false, properties: { topicAlias: 2 } });
    alice.send({
      cmd: 'publish',
      topic: topics.state(BOB.id),
      payload: Buffer.from('offline'),
      qos: 1,
      messageId: 7,
      retain: true,
      dup: false,
      properties: { topicAlias: 3 },
    });
    alice.send({ cmd: 'publish', topic: '', payload: Buffer.from('offline'), qos: 1, messageId: 8, retain: true, dup: false, properties: { topicAlias: 3 } });
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    await waitUntil('eight PUBACKs', () => ids.every((id) => pubackOf(alice, id)));
    expect(ids.map((id) => pubackOf(alice, id)!.reasonCode ?? 0)).toEqual([0, 0, 0x87, 0x87, 0, 0, 0x87, 0x87]);
    await waitUntil('four deliveries', () => publishes(watcher).length === 4);
    expect(publishes(watcher).map((p) => [p.topic, p.payload.toString()])).toEqual([
      [topics.event(ALICE.id, 'status'), 'own'],
      [topics.event(ALICE.id, 'status'), 'own-by-alias'],
      [topics.state(ALICE.id), 'online'],
      [topics.state(ALICE.id), 'online'],
    ]);
    expect(broker.stats().denials).toBeGreaterThanOrEqual(4);
  });

  it('[MQTT-3.3.2-8] disconnects with DISCONNECT 0x94 for alias 0, and for an empty topic with an alias never mapped on this connection', async () => {
    const zero = await device(ALICE);
    publish(zero, topics.event(ALICE.id, 'brew'), 1, { topicAlias: 0 });
    expect(await serverDisconnect(zero)).toMatchObject({ reasonCode: 0x94 });
    // Mapped on an earlier connection: aliases never carry over [MQTT-3.3.2-7].
    const before = await device(BOB);
    publish(before, topics.event(BOB.id, 'brew'), 1, { topicAlias: 1 });
    await waitUntil('PUBACK', () => pubackOf(before, 1) !== undefined);
    before.socket.destroy();
    await before.closed;
    const unmapped = await device(BOB);
    publish(unmapped, '', 1, { topicAlias: 1 });
    expect(await serverDisconnect(unmapped)).toMatchObject({ reasonCode: 0x94 });
  });

  it("lets only the server name a response topic, on a command and for that command's answer; user properties and correlation data pass unchanged", async () => {
    const watcher = await ingest([topics.filters.allEvents, topics.filters.allCommandResults]);
    const alice = await device(ALICE);
    const userProperties = { contract: 'v1', consent: '3' };
    publish(alice, topics.event(ALICE.id, 'brew'), 1, { correlationData: Buffer.from('c-1'), userProperties });
    // A device sends no requests: not even a topic of its own may be named for an answer.
    publish(alice, topics.event(ALICE.id, 'brew'), 2, { responseTopic: topics.command(BOB.id, 'reboot') });
    publish(alice, topics.event(ALICE.id, 'brew'), 3, { responseTopic: topics.consent(ALICE.id) });
    await waitUntil('PUBACKs', () => [1, 2, 3].every((id) => pubackOf(alice, id) !== undefined));
    expect(pubackOf(alice, 1)!.reasonCode ?? 0).toBe(0);
    expect(pubackOf(alice, 2)).toMatchObject({ reasonCode: 0x87 });
    expect(pubackOf(alice, 3)).toMatchObject({ reasonCode: 0x87 });
    await waitUntil('the allowed one delivered', () => publishes(watcher).length === 1);
    expect(publishes(watcher)[0]!.properties).toMatchObject({ correlationData: Buffer.from('c-1'), userProperties });

    const bob = await device(BOB);
    bob.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: topics.filters.deviceCommands(BOB.id), qos: 1 }] });
    await waitUntil('SUBACK', () => bob.packets.some((p) => p.cmd === 'suback'));
    // The server asks for the answer on that device's cmd-result of that command, and nowhere else.
    publish(watcher, topics.command(BOB.id, 'reboot'), 11, { responseTopic: topics.commandResult(BOB.id, 'reboot'), correlationData: Buffer.from('cmd-7') });
    publish(watcher, topics.command(BOB.id, 'reboot'), 12, { responseTopic: topics.consent(ALICE.id) });
    publish(watcher, topics.command(BOB.id, 'reboot'), 13, { responseTopic: topics.commandResult(ALICE.id, 'reboot') });
    publish(watcher, topics.command(BOB.id, 'reboot'), 14, { responseTopic: topics.commandResult(BOB.id, 'set-recipe') });
    publish(watcher, topics.consent(BOB.id), 15, { responseTopic: topics.commandResult(BOB.id, 'reboot') });
    await waitUntil('PUBACKs', () => [11, 12, 13, 14, 15].every((id) => pubackOf(watcher, id) !== undefined));
    for (const id of [12, 13, 14, 15]) expect(pubackOf(watcher, id), `publish ${id}`).toMatchObject({ reasonCode: 0x87 });
    await waitUntil('the command delivered', () => publishes(bob).length === 1);
    expect(publishes(bob)[0]!.properties).toMatchObject({ responseTopic: topics.commandResult(BOB.id, 'reboot'), correlationData: Buffer.from('cmd-7') });
  });

  it('[MQTT-3.3.4-6] disconnects a client that puts a Subscription Identifier in its PUBLISH with DISCONNECT 0x82', async () => {
    const watcher = await ingest([topics.filters.allEvents]);
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'brew'), 1, { subscriptionIdentifier: 42 });
    expect(await serverDisconnect(alice)).toMatchObject({ reasonCode: 0x82 });
    expect(publishes(watcher)).toEqual([]);
  });

  it("[MQTT-3.8.3-4] [MQTT-3.3.4-3] refuses $share with 0x9E, a foreign filter with 0x87, and echoes a granted subscription's identifier", async () => {
    const watcher = open({ clientId: 'svc-acc-share', username: INGEST.username, password: INGEST.password });
    expect((await watcher.connack).reasonCode).toBe(0);
    watcher.send({
      cmd: 'subscribe',
      messageId: 1,
      properties: { subscriptionIdentifier: 7 },
      subscriptions: [
        { topic: '$share/ingest/coffee/v1/+/evt/+', qos: 1 },
        { topic: topics.filters.allEvents, qos: 1 },
        { topic: '#', qos: 1 },
      ],
    });
    await waitUntil('SUBACK', () => watcher.packets.some((p) => p.cmd === 'suback'));
    expect((watcher.packets.find((p) => p.cmd === 'suback') as mqttPacket.ISubackPacket).granted).toEqual([0x9e, 1, 0x87]);
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'status'), 1);
    await waitUntil('delivery', () => publishes(watcher).length === 1);
    expect(publishes(watcher)[0]!.properties?.subscriptionIdentifier).toBe(7);
  });

  it('[MQTT-3.1.2-25] discards a delivery larger than the Maximum Packet Size the client announced, and sends the next one that fits', async () => {
    const small = await ingest([topics.filters.allEvents], { properties: { maximumPacketSize: 256 } });
    const alice = await device(ALICE);
    publish(alice, topics.event(ALICE.id, 'brew'), 1, undefined, 'y'.repeat(400));
    publish(alice, topics.event(ALICE.id, 'brew'), 2, undefined, 'fits');
    await waitUntil('the small one delivered', () => publishes(small).length === 1);
    expect(publishes(small)[0]!.payload.toString()).toBe('fits');
    expect(broker.stats().forwardsTooLarge).toBeGreaterThanOrEqual(1);
  });
});
