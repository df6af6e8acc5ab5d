import { describe, expect, it } from 'vitest';
import { clientsUnavailable, DEVICES, ingestClientId, login, topicOf } from './fixture.ts';
import { useConformanceRig } from './rig.ts';
import { connackOf, messagesOf, mosquittoSub, pahoEvents } from './third-party.ts';

describe.skipIf(clientsUnavailable())('conformance: will messages and persistent sessions', () => {
  const rig = useConformanceRig();

  const ingest = rig.ingest;
  const publish = (who: { id: string; secret: string }, args: string[]) => rig.clients.run('mosquitto_pub', [...login(rig.fixture, who), ...args]).finished;

  it('[MQTT-3.1.2-8] mosquitto_sub killed without DISCONNECT: its will reaches the ingest account', async () => {
    const stateTopic = topicOf.state(DEVICES.alice.id);
    const watcher = ingest(ingestClientId('will'), { subscribe: [[stateTopic, 1]], expect: 1, waitMs: 8_000 });
    await watcher.waitFor('"suback"');
    const deviceSub = mosquittoSub(rig.clients, [
      ...login(rig.fixture, DEVICES.alice),
      '-q',
      '1',
      '--will-topic',
      stateTopic,
      '--will-payload',
      'offline',
      '--will-qos',
      '1',
      '-t',
      topicOf.command(DEVICES.alice.id, '#'),
    ]);
    await deviceSub.waitFor('received SUBACK');
    deviceSub.process.kill('SIGKILL');
    expect(messagesOf(pahoEvents((await watcher.finished).stdout))).toEqual([{ event: 'message', topic: stateTopic, payload: 'offline', qos: 1, retain: 0 }]);
  });

  it('[MQTT-3.1.2-10] a will is discarded on DISCONNECT: mosquitto_pub ending cleanly publishes no will', async () => {
    const stateTopic = topicOf.state(DEVICES.bob.id);
    const watcher = ingest(ingestClientId('nowill'), { subscribe: [[stateTopic, 1]], expect: 2, waitMs: 1_500 });
    await watcher.waitFor('"suback"');
    const sent = await publish(DEVICES.bob, ['-q', '1', '--will-topic', stateTopic, '--will-payload', 'offline', '-t', stateTopic, '-m', 'online']);
    expect(sent.code).toBe(0);
    expect(messagesOf(pahoEvents((await watcher.finished).stdout)).map((m) => m.payload)).toEqual(['online']);
  });

  it('[MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-3] [MQTT-3.1.2-6] Paho persistent session: QoS 1 messages queued while offline, delivered in order on resume; clean session discards it', async () => {
    const clientId = ingestClientId('session');
    const topic = topicOf.event(DEVICES.alice.id);
    const first = pahoEvents((await ingest(clientId, { clean: false, subscribe: [[topic, 1]] }).finished).stdout);
    expect(connackOf(first)).toMatchObject({ rc: 0, sessionPresent: 0 });

    for (const n of [1, 2, 3]) expect((await publish(DEVICES.alice, ['-q', '1', '-t', topic, '-m', `queued-${n}`])).code).toBe(0);

    const resumed = pahoEvents((await ingest(clientId, { clean: false, expect: 3, waitMs: 8_000 }).finished).stdout);
    expect(connackOf(resumed)).toMatchObject({ rc: 0, sessionPresent: 1 });
    expect(messagesOf(resumed).map((m) => [m.payload, m.qos])).toEqual([
      ['queued-1', 1],
      ['queued-2', 1],
      ['queued-3', 1],
    ]);

    const cleaned = pahoEvents((await ingest(clientId, { clean: true }).finished).stdout);
    expect(connackOf(cleaned)).toMatchObject({ rc: 0, sessionPresent: 0 });
    await publish(DEVICES.alice, ['-q', '1', '-t', topic, '-m', 'after-clean']);
    const fresh = pahoEvents((await ingest(clientId, { clean: false, expect: 1, waitMs: 1_000 }).finished).stdout);
    expect(connackOf(fresh)).toMatchObject({ rc: 0, sessionPresent: 0 });
    expect(messagesOf(fresh)).toEqual([]);
    await ingest(clientId, { clean: true }).finished;
  });

  it('[MQTT-4.4.0-1] [MQTT-3.3.1-1] [MQTT-4.3.2-1] Paho dies before its PUBACK: on resume the message comes again with its packet id and DUP=1, once acknowledged never again', async () => {
    const clientId = ingestClientId('dup');
    const topic = topicOf.event(DEVICES.bob.id, 'payment');
    const crashing = ingest(clientId, { clean: false, subscribe: [[topic, 1]], ids: true, abortOnMessage: true, expect: 1, waitMs: 8_000 });
    await crashing.waitFor('"suback"');
    expect((await publish(DEVICES.bob, ['-q', '1', '-t', topic, '-m', 'unacknowledged'])).code).toBe(0);
    const first = messagesOf(pahoEvents((await crashing.finished).stdout));
    expect(first).toEqual([{ event: 'message', topic, payload: 'unacknowledged', qos: 1, retain: 0, mid: expect.any(Number), dup: 0 }]);

    const resumed = pahoEvents((await ingest(clientId, { clean: false, ids: true, expect: 1, waitMs: 8_000 }).finished).stdout);
    expect(connackOf(resumed)).toMatchObject({ rc: 0, sessionPresent: 1 });
    expect(messagesOf(resumed)).toEqual([{ ...first[0], dup: 1 }]);

    const after = pahoEvents((await ingest(clientId, { clean: false, ids: true, expect: 1, waitMs: 1_000 }).finished).stdout);
    expect(messagesOf(after)).toEqual([]);
    await ingest(clientId, { clean: true }).finished;
  });
});
