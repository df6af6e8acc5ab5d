import { describe, expect, it } from 'vitest';
import { clientsUnavailable, DEVICES, ingestClientId, login, topicOf } from './fixture.ts';
import { useConformanceRig } from './rig.ts';
import { messagesOf, pahoEvents, subackOf, type PahoSpec } from './third-party.ts';

describe.skipIf(clientsUnavailable())('conformance: ACL denials, deny by default', () => {
  const rig = useConformanceRig();

  const ingest = (spec: Partial<PahoSpec>) => rig.ingest(ingestClientId('acl'), spec);
  const device = rig.device;

  it("[MQTT-3.3.5-2] a device publishing into another device's topic is disconnected and nothing is delivered", async () => {
    const victim = topicOf.event(DEVICES.bob.id);
    const watcher = ingest({ subscribe: [['coffee/v1/+/evt/+', 1]], expect: 1, waitMs: 1_500 });
    await watcher.waitFor('"suback"');
    const denialsBefore = rig.fixture.broker.stats().denials;
    const sent = await rig.clients.run('mosquitto_pub', [...login(rig.fixture, DEVICES.alice), '-q', '1', '-t', victim, '-m', 'forged-payload-7f3a']).finished;
    expect(sent.code).not.toBe(0);
    expect(messagesOf(pahoEvents((await watcher.finished).stdout))).toEqual([]);
    expect(rig.fixture.broker.stats().denials).toBe(denialsBefore + 1);
    const denial = rig.fixture.logs.find((line) => line.includes('publish denied') && line.includes(victim));
    expect(denial).toBeDefined();
    expect(rig.fixture.logs.join('\n')).not.toContain('forged-payload-7f3a');
  });

  it('[MQTT-3.3.5-2] Paho: the ingest account may not publish device events (QoS 0 too): connection closed', async () => {
    const events = pahoEvents((await ingest({ publish: [{ topic: topicOf.event(DEVICES.alice.id), payload: 'x', qos: 0 }], holdMs: 1_000 }).finished).stdout);
    expect(events.find((e) => e.event === 'disconnected')).toMatchObject({ rc: expect.any(Number) });
    expect(events.find((e) => e.event === 'disconnected')).not.toEqual({ event: 'disconnected', rc: 0 });
  });

  it("[MQTT-3.8.4-5] [MQTT-3.9.3-2] Paho: a device gets 0x80 for another device's consent, #, $SYS/# and foreign cmd, but its own filters in the same SUBSCRIBE", async () => {
    const filters: Array<[string, 0 | 1 | 2]> = [
      [topicOf.consent(DEVICES.bob.id), 1],
      ['#', 0],
      ['$SYS/#', 0],
      [topicOf.command(DEVICES.bob.id, '#'), 1],
      [topicOf.consent(DEVICES.alice.id), 1],
      [topicOf.command(DEVICES.alice.id, '#'), 1],
    ];
    const events = pahoEvents((await device(DEVICES.alice, { subscribe: filters }).finished).stdout);
    expect(subackOf(events)).toEqual({ event: 'suback', granted: [128, 128, 128, 128, 1, 1] });
  });

  it('[MQTT-3.8.4-5] [MQTT-3.9.3-2] Paho: the ingest account gets 0x80 for #, $SYS/#, coffee/v1/#, +/… and consent, but its + filters on events', async () => {
    const filters: Array<[string, 0 | 1 | 2]> = [
      ['#', 1],
      ['$SYS/#', 1],
      ['coffee/v1/#', 1],
      ['+/v1/+/evt/+', 1],
      ['coffee/v1/+/consent', 1],
      ['coffee/v1/+/evt/+', 1],
    ];
    const events = pahoEvents((await ingest({ subscribe: filters }).finished).stdout);
    expect(subackOf(events)).toEqual({ event: 'suback', granted: [128, 128, 128, 128, 128, 1] });
  });
});
