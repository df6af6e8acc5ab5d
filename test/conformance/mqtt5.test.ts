import { describe, expect, it } from 'vitest';
import { clientsUnavailable, DEVICES, HOME_PLANE, ingestClientId, INGEST, login5, topicOf } from './fixture.ts';
import { useConformanceRig } from './rig.ts';
import { connackOf, messagesOf, mosquittoSub, pahoEvents, subackOf, type PahoSpec } from './third-party.ts';

/**
 * MQTT 5 against our broker, driven by Debian's third-party clients: mosquitto_pub / mosquitto_sub
 * with `-V mqttv5` (libmosquitto 2.0) and Eclipse Paho for Python with MQTTv5.
 */
describe.skipIf(clientsUnavailable())('conformance: MQTT 5 (mosquitto-clients -V mqttv5, Paho MQTTv5)', () => {
  const rig = useConformanceRig();
  const v5: Partial<PahoSpec> = { version: 5 };
  const device5 = (who: { id: string; secret: string }, spec: Partial<PahoSpec> = {}) => rig.device(who, { ...v5, ...spec });

  it('[MQTT-3.2.2-2] [MQTT-3.2.2-15] [MQTT-3.2.2-17] Paho: CONNACK 0 announces Maximum Packet Size, Receive Maximum, Topic Alias Maximum, no shared subscriptions', async () => {
    const connack = connackOf(pahoEvents((await device5(DEVICES.alice).finished).stdout));
    expect(connack).toMatchObject({ rc: 0, sessionPresent: 0 });
    expect(connack?.properties).toMatchObject({ MaximumPacketSize: 262_144, ReceiveMaximum: 1_000, TopicAliasMaximum: 16, SharedSubscriptionAvailable: 0 });
  });

  it('[MQTT-3.2.2-7] [MQTT-3.2.2-8] Paho: refusals carry MQTT 5 reason codes (0x86 wrong secret, 0x87 no credentials, 0x85 foreign client id) and the connection is closed', async () => {
    const wrong = pahoEvents((await device5({ id: DEVICES.alice.id, secret: 'not-the-secret' }).finished).stdout);
    expect(connackOf(wrong)).toMatchObject({ rc: 0x86 });
    expect(wrong).toContainEqual({ event: 'done', closed: true });
    const anonymous = pahoEvents(
      (
        await rig.clients.run('/usr/bin/python3', [
          new URL('./paho-client.py', import.meta.url).pathname,
          JSON.stringify({ version: 5, host: rig.fixture.host, port: rig.fixture.port, clientId: DEVICES.bob.id }),
        ]).finished
      ).stdout,
    );
    expect(connackOf(anonymous)).toMatchObject({ rc: 0x87 });
    const foreign = pahoEvents((await rig.device(DEVICES.alice, { ...v5, clientId: DEVICES.bob.id }).finished).stdout);
    expect(connackOf(foreign)).toMatchObject({ rc: 0x85 });
  });

  it('[MQTT-3.2.2-7] mosquitto_pub -V mqttv5: a wrong secret is refused as "Bad user name or password"', async () => {
    const result = await rig.clients.run('mosquitto_pub', [
      ...login5(rig.fixture, { id: DEVICES.bob.id, secret: 'wrong-secret' }),
      '-t',
      topicOf.state(DEVICES.bob.id),
      '-m',
      'online',
    ]).finished;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/bad user name or password/i);
  });

  it('[MQTT-3.2.2-7] mosquitto_pub -V mqttv5 and Paho: a device of another plane is sent there with CONNACK 0x9C and its Server Reference', async () => {
    const redirected = pahoEvents((await device5(DEVICES.roamer).finished).stdout);
    expect(connackOf(redirected)).toMatchObject({ rc: 0x9c, properties: { ServerReference: HOME_PLANE } });
    const result = await rig.clients.run('mosquitto_pub', [...login5(rig.fixture, DEVICES.roamer), '-t', topicOf.state(DEVICES.roamer.id), '-m', 'online'])
      .finished;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/use another server/i);
  });

  it("[MQTT-3.4.2-1] mosquitto_pub -V mqttv5: a publish outside the device's rights gets PUBACK 0x87 (not authorized), with a reason string, not a closed connection", async () => {
    const result = await rig.clients.run('mosquitto_pub', [
      ...login5(rig.fixture, DEVICES.alice),
      '-d',
      '-q',
      '1',
      '-t',
      topicOf.event(DEVICES.bob.id),
      '-m',
      'not-alice-s',
    ]).finished;
    expect(result.stdout).toMatch(/received PUBACK \(Mid: 1, RC:135\)/);
    expect(result.stderr).toMatch(/Publish 1 failed: Not authorized/);
    // mosquitto_pub then ends the session itself, with DISCONNECT: the broker kept it open.
    expect(result.stdout).toMatch(/sending DISCONNECT/);
    expect(rig.fixture.logs.join('\n')).not.toContain('not-alice-s');
  });

  it('[MQTT-3.4.2-1] Paho MQTTv5: after a refused publish the same connection still delivers the next one', async () => {
    const watcher = mosquittoSub(rig.clients, [
      ...login5(rig.fixture, INGEST, ingestClientId('after-refusal')),
      '-q',
      '1',
      '-C',
      '1',
      '-v',
      '-t',
      topicOf.event(DEVICES.alice.id),
    ]);
    await watcher.waitFor('received SUBACK');
    const alice = device5(DEVICES.alice, {
      publish: [
        { topic: topicOf.event(DEVICES.bob.id), payload: 'refused', qos: 1 },
        { topic: topicOf.event(DEVICES.alice.id), payload: 'accepted', qos: 1 },
      ],
    });
    await watcher.waitFor(`${topicOf.event(DEVICES.alice.id)} accepted`);
    const events = pahoEvents((await alice.finished).stdout);
    expect(events.filter((e) => e.event === 'disconnected')).toEqual([{ event: 'disconnected', rc: 0 }]);
  });

  it('[MQTT-3.9.3-2] mosquitto_sub -V mqttv5: SUBACK refuses $share/… with 0x9E (shared subscriptions not supported) and a foreign filter with 0x87, and grants the allowed one', async () => {
    const sub = mosquittoSub(rig.clients, [
      ...login5(rig.fixture, DEVICES.alice),
      '-W',
      '3',
      '-t',
      '$share/g/coffee/v1/cm-conf-alice/cmd/#',
      '-t',
      topicOf.consent(DEVICES.bob.id),
      '-t',
      topicOf.consent(DEVICES.alice.id),
    ]);
    await sub.waitFor('Subscribed');
    expect(sub.stdout()).toMatch(/Subscribed \(mid: 1\): 158, 135, 0/);
  });

  it('[MQTT-3.1.2-22] [MQTT-3.1.2-8] Paho MQTTv5: a client silent for 1.5 x keepalive gets DISCONNECT 0x8D and its will is published', async () => {
    const stateTopic = topicOf.state(DEVICES.bob.id);
    const watcher = mosquittoSub(rig.clients, [...login5(rig.fixture, INGEST, ingestClientId('keepalive5')), '-q', '1', '-C', '1', '-v', '-t', stateTopic]);
    await watcher.waitFor('received SUBACK');
    const silent = device5(DEVICES.bob, { keepalive: 1, silent: true, waitMs: 4_000, will: { topic: stateTopic, payload: 'offline', qos: 1 } });
    await watcher.waitFor(`${stateTopic} offline`, 10_000);
    expect(pahoEvents((await silent.finished).stdout)).toContainEqual({ event: 'disconnected', rc: 0x8d });
  });

  it('[MQTT-3.1.2-23] [MQTT-3.1.2-5] Paho MQTTv5: a session with an expiry interval keeps its queue while away, then expires', async () => {
    const command = topicOf.command(DEVICES.alice.id);
    const first = pahoEvents((await device5(DEVICES.alice, { connectProperties: { SessionExpiryInterval: 2 }, subscribe: [[command, 1]] }).finished).stdout);
    expect(subackOf(first)).toEqual({ event: 'suback', granted: [1] });
    const sent = await rig.clients.run('mosquitto_pub', [
      ...login5(rig.fixture, INGEST, ingestClientId('queue5')),
      '-q',
      '1',
      '-t',
      command,
      '-m',
      'while-away',
    ]).finished;
    expect(sent.code).toBe(0);
    const back = pahoEvents((await device5(DEVICES.alice, { clean: false, connectProperties: { SessionExpiryInterval: 1 }, expect: 1 }).finished).stdout);
    expect(connackOf(back)).toMatchObject({ rc: 0, sessionPresent: 1 });
    expect(messagesOf(back).map((m) => m.payload)).toEqual(['while-away']);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const expired = pahoEvents((await device5(DEVICES.alice, { clean: false }).finished).stdout);
    expect(connackOf(expired)).toMatchObject({ rc: 0, sessionPresent: 0 });
  });

  it('[MQTT-3.1.3-9] Paho MQTTv5 and mosquitto_sub -V mqttv5: a will with a delay is not sent when the device is back in time, and is sent, well-formed, after the delay otherwise', async () => {
    const stateTopic = topicOf.state(DEVICES.bob.id);
    const will = { topic: stateTopic, payload: 'offline', qos: 1 as const, properties: { WillDelayInterval: 2 } };
    const session = { connectProperties: { SessionExpiryInterval: 30 }, will, noDisconnect: true };
    // libmosquitto drops the connection on a malformed PUBLISH (a Will Delay Interval in it), so it
    // printing the will proves the will reached it as a proper PUBLISH.
    const watcher = mosquittoSub(rig.clients, [...login5(rig.fixture, INGEST, ingestClientId('will-delay')), '-q', '1', '-v', '-F', '%t %p', '-t', stateTopic]);
    await watcher.waitFor('received SUBACK');
    await device5(DEVICES.bob, session).finished;
    await device5(DEVICES.bob, { ...session, clean: false }).finished;
    const goneAt = Date.now();
    await watcher.waitFor(`${stateTopic} offline`, 8_000);
    // One will, sent after the delay counted from the second drop: the first was cancelled.
    expect(Date.now() - goneAt).toBeGreaterThanOrEqual(1_800);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      watcher
        .stdout()
        .split('\n')
        .filter((l) => l === `${stateTopic} offline`),
    ).toHaveLength(1);
  });

  it("[MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] Paho MQTTv5 and mosquitto_sub/pub -V mqttv5: correlation data and user properties of a device's event reach the ingest unchanged; a command's response topic and correlation data reach the device; a device may name no response topic, the server only the command's own answer topic", async () => {
    const event = topicOf.event(DEVICES.alice.id);
    const watcher = mosquittoSub(rig.clients, [
      ...login5(rig.fixture, INGEST, ingestClientId('props')),
      '-q',
      '1',
      '-C',
      '1',
      '-F',
      '%t|%D|%P|%p',
      '-t',
      event,
    ]);
    await watcher.waitFor('received SUBACK');
    await device5(DEVICES.alice, {
      publish: [{ topic: event, payload: 'with-properties', qos: 1, properties: { CorrelationData: 'c-42', UserProperty: [['contract-version', '1']] } }],
    }).finished;
    await watcher.waitFor('with-properties');
    expect(watcher.stdout()).toContain(`${event}|c-42|contract-version:1|with-properties`);
    // Request/response runs cloud -> device: a device naming a response topic, even its own, is refused.
    for (const responseTopic of [topicOf.command(DEVICES.bob.id), topicOf.commandResult(DEVICES.alice.id)]) {
      const refused = await rig.clients.run('mosquitto_pub', [
        ...login5(rig.fixture, DEVICES.alice),
        '-q',
        '1',
        '-t',
        event,
        '-m',
        'x',
        '-D',
        'publish',
        'response-topic',
        responseTopic,
      ]).finished;
      expect(refused.stderr).toMatch(/Publish 1 failed: Not authorized/);
    }

    const device = mosquittoSub(rig.clients, [
      ...login5(rig.fixture, DEVICES.alice),
      '-q',
      '1',
      '-C',
      '1',
      '-F',
      '%t|%R|%D|%p',
      '-t',
      topicOf.command(DEVICES.alice.id),
    ]);
    await device.waitFor('received SUBACK');
    const elsewhere = await rig.clients.run('mosquitto_pub', [
      ...login5(rig.fixture, INGEST, ingestClientId('cmd-bad')),
      '-q',
      '1',
      '-t',
      topicOf.command(DEVICES.alice.id),
      '-m',
      'x',
      '-D',
      'publish',
      'response-topic',
      topicOf.commandResult(DEVICES.bob.id),
    ]).finished;
    expect(elsewhere.stderr).toMatch(/Publish 1 failed: Not authorized/);
    await rig.clients.run('mosquitto_pub', [
      ...login5(rig.fixture, INGEST, ingestClientId('cmd')),
      '-q',
      '1',
      '-t',
      topicOf.command(DEVICES.alice.id),
      '-m',
      'reboot-now',
      '-D',
      'publish',
      'response-topic',
      topicOf.commandResult(DEVICES.alice.id),
      '-D',
      'publish',
      'correlation-data',
      'cmd-7',
      '-D',
      'publish',
      'message-expiry-interval',
      '600',
    ]).finished;
    await device.waitFor('reboot-now');
    expect(device.stdout()).toContain(`${topicOf.command(DEVICES.alice.id)}|${topicOf.commandResult(DEVICES.alice.id)}|cmd-7|reboot-now`);
  });

  it('[MQTT-3.2.2-15] Paho MQTTv5: a packet above the announced Maximum Packet Size gets DISCONNECT 0x95 (packet too large)', async () => {
    const events = pahoEvents(
      (await device5(DEVICES.alice, { publish: [{ topic: topicOf.event(DEVICES.alice.id), payloadBytes: 300_000, qos: 1 }], waitMs: 3_000 }).finished).stdout,
    );
    expect(events).toContainEqual({ event: 'disconnected', rc: 0x95 });
  });
});
