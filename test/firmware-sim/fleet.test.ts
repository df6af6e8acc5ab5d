import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsentCategories } from '../../schema/consent.ts';
import { eventEnvelopeSchema, EVENT_KINDS, type EventEnvelope } from '../../schema/events.ts';
import { parseTopic, topics } from '../../schema/topics.ts';
import { startFleet, type Fleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY } from './helpers.ts';

/** A plain aedes broker (the real engine, no auth) on an ephemeral port. */
let broker: Aedes;
let server: Server;
let observer: MqttClient;
let brokerUrl: string;
const received: Array<{ topic: string; payload: string }> = [];
const states = new Map<string, string>();

const machines: MachineIdentity[] = [
  { deviceId: 'cm-fleet-test-0', secret: 's0', region: 'eu', usage: 'cafe' },
  { deviceId: 'cm-fleet-test-1', secret: 's1', region: 'us', usage: 'cafe' },
  { deviceId: 'cm-fleet-test-2', secret: 's2', region: 'cn', usage: 'office' },
  { deviceId: 'cm-fleet-test-3', secret: 's3', region: 'eu', usage: 'office' },
  { deviceId: 'cm-fleet-test-4', secret: 's4', region: 'eu', usage: 'home' },
];
const consentOf = (i: number): ConsentCategories =>
  i === 3 ? { ...ALL_CONSENT, location: 'none' } : i === 4 ? { ...ALL_CONSENT, location: 'coarse' } : ALL_CONSENT;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  observer = await mqtt.connectAsync(brokerUrl, { clientId: 'observer', reconnectPeriod: 0 });
  observer.on('message', (topic, payload) => {
    const parsed = parseTopic(topic);
    if (parsed?.type === 'state') states.set(parsed.deviceId, payload.toString());
    else received.push({ topic, payload: payload.toString() });
  });
  await observer.subscribeAsync([topics.filters.allEvents, topics.filters.allStates], { qos: 1 });
  await Promise.all(
    machines.map((m, i) =>
      observer.publishAsync(topics.consent(m.deviceId), JSON.stringify(consentFor(m.deviceId, consentOf(i), 4)), { qos: 1, retain: true }),
    ),
  );
});

afterAll(async () => {
  await observer?.endAsync(true);
  await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

describe('fleet over a real broker', () => {
  let fleet: Fleet | undefined;
  afterAll(async () => fleet?.stop());

  it('publishes schema-valid events on the right topics at QoS 1 and stops cleanly', async () => {
    const logger = pino({ level: 'silent' });
    // Monday 06:00 UTC: European cafes and offices are opening; ten simulated hours per real second.
    fleet = await startFleet({ brokerUrl, machines, seed: 11, speed: 36_000, startAt: MONDAY + 6 * HOUR }, logger);
    expect(fleet.stats().connected).toBe(5);
    await fleet.whenPublished(300, 20_000);
    await fleet.stop();

    const stats = fleet.stats();
    expect(stats.pending).toBe(0);
    expect(stats.failed).toBe(0);
    expect(stats.connected).toBe(0);
    expect(EVENT_KINDS.reduce((sum, kind) => sum + stats.publishedByKind[kind], 0)).toBe(stats.published);
    expect(stats.published).toBeGreaterThanOrEqual(300);

    // The broker acknowledged each event before forwarding it; give forwarding a bounded moment to finish.
    for (let i = 0; i < 100 && (received.length < stats.published || machines.some((m) => states.get(m.deviceId) !== 'offline')); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(received.length).toBe(stats.published);

    const events: EventEnvelope[] = received.map(({ topic, payload }) => {
      const parsedTopic = parseTopic(topic);
      const envelope = eventEnvelopeSchema.parse(JSON.parse(payload));
      expect(parsedTopic).toEqual({ type: 'event', deviceId: envelope.deviceId, kind: envelope.kind });
      expect(envelope.consentVersion).toBe(4);
      return envelope;
    });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(new Set(events.map((e) => e.deviceId)).size).toBe(machines.length);
    expect(events.some((e) => e.deviceId === 'cm-fleet-test-3' && e.kind === 'location')).toBe(false);
    for (const e of events) if (e.deviceId === 'cm-fleet-test-4' && e.kind === 'location') expect(e.body.precision).toBe('coarse');
    for (const m of machines) expect(states.get(m.deviceId)).toBe('offline');
  });
});

describe('the fleet clock while machines connect', () => {
  const rampMachines: MachineIdentity[] = [0, 1, 2].map((i) => ({ deviceId: `cm-fleet-ramp-${i}`, secret: `r${i}`, region: 'eu', usage: 'cafe' }));
  let fleet: Fleet | undefined;
  afterAll(async () => fleet?.stop());

  it('keeps real time until every machine had its first attempt answered, then runs at speed with every timer armed again', async () => {
    await Promise.all(
      rampMachines.map((m) =>
        observer.publishAsync(topics.consent(m.deviceId), JSON.stringify(consentFor(m.deviceId, ALL_CONSENT, 1)), { qos: 1, retain: true }),
      ),
    );
    const startAt = MONDAY + 8 * HOUR;
    const ours = (): EventEnvelope[] =>
      received.map(({ payload }) => eventEnvelopeSchema.parse(JSON.parse(payload))).filter((e) => rampMachines.some((m) => m.deviceId === e.deviceId));
    const realStart = performance.now();
    // Two attempts a second: the first machines are online, consent applied, timers armed for real
    // time, well before the last one is answered and the clock speeds up.
    fleet = await startFleet({ brokerUrl, machines: rampMachines, seed: 12, speed: 36_000, startAt, connectRatePerS: 2 }, pino({ level: 'silent' }));
    const rampedAfterMs = performance.now() - realStart;
    await new Promise((r) => setTimeout(r, 100));
    // What they sent while connecting (boot and first-consent reports) is stamped within real time of the start.
    const early = ours();
    expect(early.length).toBeGreaterThan(0);
    for (const e of early) expect(Date.parse(e.ts) - startAt).toBeLessThan(rampedAfterMs + 100 * 36_000 + 1_000);
    // At speed a status report is due every 50 ms (30 simulated minutes): each machine sends many
    // within seconds, which only happens if its timer, armed for real time, was armed again.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(rampedAfterMs).toBeGreaterThan(400);
    for (const m of rampMachines) {
      const later = ours().filter((e) => e.deviceId === m.deviceId && Date.parse(e.ts) - startAt > 2 * HOUR);
      expect(later.length).toBeGreaterThanOrEqual(5);
    }
    const ids = ours().map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
