import { describe, expect, it } from 'vitest';
import { clientsUnavailable, DEVICES, ingestClientId, INGEST, login, topicOf } from './fixture.ts';
import { useConformanceRig } from './rig.ts';
import { messagesOf, pahoEvents, subackOf, type PahoSpec } from './third-party.ts';

describe.skipIf(clientsUnavailable())('conformance: QoS 0/1/2 delivery, service-account wildcards, retained messages', () => {
  const rig = useConformanceRig();

  const ingest = (label: string, spec: Partial<PahoSpec>) => rig.ingest(ingestClientId(label), spec);
  const device = rig.device;
  const publish = (who: { id: string; secret: string } | typeof INGEST, args: string[], clientId?: string) =>
    rig.clients.run('mosquitto_pub', [...login(rig.fixture, who, clientId), '-d', ...args]).finished;

  // Broker as receiver (from mosquitto_pub) and as sender (to Paho) of each QoS protocol.
  const qosCases = [
    { qos: 0, cites: '[MQTT-4.3.1-1]' },
    { qos: 1, cites: '[MQTT-4.3.2-1] [MQTT-4.3.2-2]' },
    { qos: 2, cites: '[MQTT-4.3.3-1] [MQTT-4.3.3-2]' },
  ] as const;
  for (const { qos, cites } of qosCases)
    it(`${cites} QoS ${qos}: mosquitto_pub device -> Paho ingest, delivered at that QoS`, async () => {
      const topic = topicOf.event(DEVICES.alice.id);
      const subscriber = ingest(`qos${qos}`, { subscribe: [[topic, 2]], expect: 1, waitMs: 8_000 });
      await subscriber.waitFor('"suback"');
      const sent = await publish(DEVICES.alice, ['-q', String(qos), '-t', topic, '-m', `brew-at-qos-${qos}`]);
      expect(sent.code).toBe(0);
      // The broker's side of each handshake, as the publisher saw it.
      if (qos === 1) expect(sent.stdout).toMatch(/received PUBACK/);
      if (qos === 2) expect(sent.stdout).toMatch(/received PUBREC[\s\S]*sending PUBREL[\s\S]*received PUBCOMP/);
      const events = pahoEvents((await subscriber.finished).stdout);
      expect(subackOf(events)).toEqual({ event: 'suback', granted: [2] });
      expect(messagesOf(events)).toEqual([{ event: 'message', topic, payload: `brew-at-qos-${qos}`, qos, retain: 0 }]);
    });

  it('[MQTT-3.8.4-6] a QoS 2 publish reaches a QoS 1 subscription at QoS 1', async () => {
    const topic = topicOf.event(DEVICES.bob.id, 'payment');
    const subscriber = ingest('downgrade', { subscribe: [[topic, 1]], expect: 1, waitMs: 8_000 });
    await subscriber.waitFor('"suback"');
    expect((await publish(DEVICES.bob, ['-q', '2', '-t', topic, '-m', 'paid'])).code).toBe(0);
    expect(messagesOf(pahoEvents((await subscriber.finished).stdout))).toEqual([{ event: 'message', topic, payload: 'paid', qos: 1, retain: 0 }]);
  });

  it("[MQTT-4.7.1-3] [MQTT-4.7.1-2] the ingest account's + filters match every device; a device may use its own cmd/#", async () => {
    const subscriber = ingest('wildcards', {
      subscribe: [
        ['coffee/v1/+/evt/+', 1],
        ['coffee/v1/+/state', 1],
      ],
      expect: 3,
      waitMs: 8_000,
    });
    await subscriber.waitFor('"suback"');
    await publish(DEVICES.alice, ['-q', '1', '-t', topicOf.event(DEVICES.alice.id, 'brew'), '-m', 'a-brew']);
    await publish(DEVICES.bob, ['-q', '1', '-t', topicOf.event(DEVICES.bob.id, 'fault'), '-m', 'b-fault']);
    await publish(DEVICES.bob, ['-q', '1', '-t', topicOf.state(DEVICES.bob.id), '-m', 'online']);
    const events = pahoEvents((await subscriber.finished).stdout);
    expect(subackOf(events)).toEqual({ event: 'suback', granted: [1, 1] });
    expect(
      messagesOf(events)
        .map((m) => `${m.topic} ${m.payload}`)
        .sort(),
    ).toEqual(
      [
        `${topicOf.event(DEVICES.alice.id, 'brew')} a-brew`,
        `${topicOf.event(DEVICES.bob.id, 'fault')} b-fault`,
        `${topicOf.state(DEVICES.bob.id)} online`,
      ].sort(),
    );

    const commands = device(DEVICES.alice, { subscribe: [[topicOf.command(DEVICES.alice.id, '#'), 1]], expect: 1, waitMs: 8_000 });
    await commands.waitFor('"suback"');
    await publish(INGEST, ['-q', '1', '-t', topicOf.command(DEVICES.alice.id, 'reboot'), '-m', 'now'], ingestClientId('cmd'));
    expect(messagesOf(pahoEvents((await commands.finished).stdout))).toMatchObject([
      { topic: topicOf.command(DEVICES.alice.id, 'reboot'), payload: 'now', qos: 1 },
    ]);
  });

  it('[MQTT-6.0.0-3] [MQTT-6.0.0-4] Paho over WebSocket (subprotocol mqtt): device publishes, ingest over TCP receives; denials apply alike', async () => {
    const topic = topicOf.event(DEVICES.bob.id, 'status');
    const subscriber = ingest('websocket', { subscribe: [[topic, 1]], expect: 1, waitMs: 8_000 });
    await subscriber.waitFor('"suback"');
    const overWs = { transport: 'websockets', port: rig.fixture.wsPort } as const;
    const sent = pahoEvents((await device(DEVICES.bob, { ...overWs, publish: [{ topic, payload: 'over-ws', qos: 1 }] }).finished).stdout);
    expect(sent).toContainEqual(expect.objectContaining({ event: 'connack', rc: 0 }));
    expect(sent).toContainEqual(expect.objectContaining({ event: 'published' }));
    expect(messagesOf(pahoEvents((await subscriber.finished).stdout))).toEqual([{ event: 'message', topic, payload: 'over-ws', qos: 1, retain: 0 }]);
    const denied = pahoEvents((await device(DEVICES.bob, { ...overWs, subscribe: [[topicOf.consent(DEVICES.alice.id), 1]] }).finished).stdout);
    expect(subackOf(denied)).toEqual({ event: 'suback', granted: [128] });
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8] [MQTT-3.3.1-9] [MQTT-3.3.1-10] retained consent: stored, replayed with RETAIN=1, live with RETAIN=0, cleared by an empty payload', async () => {
    const topic = topicOf.consent(DEVICES.alice.id);
    const ingestId = ingestClientId('retain');
    expect((await publish(INGEST, ['-q', '1', '-r', '-t', topic, '-m', 'consent-v1'], ingestId)).code).toBe(0);

    const subscriber = device(DEVICES.alice, { subscribe: [[topic, 1]], expect: 2, waitMs: 8_000 });
    await subscriber.waitFor('consent-v1');
    await publish(INGEST, ['-q', '1', '-r', '-t', topic, '-m', 'consent-v2'], ingestId);
    expect(messagesOf(pahoEvents((await subscriber.finished).stdout))).toEqual([
      { event: 'message', topic, payload: 'consent-v1', qos: 1, retain: 1 },
      { event: 'message', topic, payload: 'consent-v2', qos: 1, retain: 0 },
    ]);

    expect((await publish(INGEST, ['-q', '1', '-r', '-t', topic, '-n'], ingestId)).code).toBe(0);
    const late = await device(DEVICES.alice, { subscribe: [[topic, 1]], expect: 1, waitMs: 1_500 }).finished;
    expect(messagesOf(pahoEvents(late.stdout))).toEqual([]);
  });
});
