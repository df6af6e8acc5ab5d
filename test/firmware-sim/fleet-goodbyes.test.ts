import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopic } from '../../schema/topics.ts';
import { startFleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { startTestBroker, type TestBroker } from './aedes-server.ts';

/** More machines than the fleet says goodbye to at once (GOODBYES_AT_ONCE in fleet.ts, 500). */
const MACHINES = 600;

let broker: TestBroker;
/** Machines that published `offline` and have not disconnected yet: goodbyes under way. */
const sayingGoodbye = new Set<string>();
const saidOffline = new Set<string>();
let mostAtOnce = 0;

beforeAll(async () => {
  broker = await startTestBroker();
  broker.broker.on('publish', (packet, client) => {
    if (!client || parseTopic(packet.topic)?.type !== 'state' || packet.payload.toString() !== 'offline') return;
    saidOffline.add(client.id);
    sayingGoodbye.add(client.id);
    mostAtOnce = Math.max(mostAtOnce, sayingGoodbye.size);
  });
  broker.broker.on('clientDisconnect', (client) => sayingGoodbye.delete(client.id));
});

afterAll(async () => broker?.close());

describe('a large fleet stopping', () => {
  it('says offline from every machine, a bounded number at a time', async () => {
    const machines: MachineIdentity[] = Array.from({ length: MACHINES }, (_, i) => ({ deviceId: `cm-goodbye-${i}`, secret: 's', region: 'eu' }));
    const fleet = await startFleet({ brokerUrl: broker.url, machines, seed: 3, speed: 1, connectConcurrency: 200 }, pino({ level: 'silent' }));
    try {
      expect(fleet.stats().connected).toBe(MACHINES);
    } finally {
      await fleet.stop();
    }
    expect(saidOffline.size).toBe(MACHINES);
    expect(mostAtOnce).toBeGreaterThan(0);
    // All at once, every `offline` reached the broker before the first DISCONNECT (each waits for its PUBACK).
    expect(mostAtOnce).toBeLessThanOrEqual(500);
  }, 60_000);
});
