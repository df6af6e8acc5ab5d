import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decideFault, malform } from '../../firmware-sim/fault-injection.ts';
import { faultRatesSchema, INJECTED_FAULTS, NO_FAULTS, type InjectedFault } from '../../schema/fault-rates.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { createRng } from '../../firmware-sim/random.ts';
import { eventEnvelopeSchema } from '../../schema/events.ts';
import { topics } from '../../schema/topics.ts';
import { startTestBroker, waitFor, type TestBroker } from './aedes-server.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY, runMachine } from './helpers.ts';

describe('fault injection decisions (pure)', () => {
  it('injects nothing at zero rates and exactly the one fault at rate 1', () => {
    const rng = createRng(1);
    for (let i = 0; i < 1000; i++) expect(decideFault(rng, NO_FAULTS)).toBeNull();
    for (const fault of INJECTED_FAULTS) {
      const rates = faultRatesSchema.parse({ [fault]: 1 });
      for (let i = 0; i < 100; i++) expect(decideFault(rng, rates)).toBe(fault);
    }
  });

  it('hits each configured rate within sampling error, and is reproducible from the seed', () => {
    const rates = faultRatesSchema.parse({ drop: 0.05, duplicate: 0.1, reorder: 0.02, delay: 0.03, disconnect: 0.01, malformed: 0.04 });
    const draw = (seed: number): Array<InjectedFault | null> => {
      const rng = createRng(seed);
      return Array.from({ length: 50_000 }, () => decideFault(rng, rates));
    };
    const run = draw(7);
    for (const fault of INJECTED_FAULTS) {
      const share = run.filter((f) => f === fault).length / run.length;
      expect(Math.abs(share - rates[fault])).toBeLessThan(0.006);
    }
    expect(draw(7)).toEqual(run);
  });

  it('refuses rates that add up to more than one', () => {
    expect(faultRatesSchema.safeParse({ drop: 0.6, duplicate: 0.6 }).success).toBe(false);
    expect(faultRatesSchema.safeParse({ drop: -0.1 }).success).toBe(false);
  });

  it('every malformed variant fails the envelope schema', () => {
    const events = runMachine({ usage: 'cafe' }, 6).sink.events;
    const rng = createRng(3);
    for (const event of events.slice(0, 300)) {
      const bad = malform(rng, JSON.stringify(event));
      let json: unknown;
      try {
        json = JSON.parse(bad);
      } catch {
        continue;
      }
      expect(eventEnvelopeSchema.safeParse(json).success).toBe(false);
    }
  });
});

describe('fault injection over a real broker', () => {
  let broker: TestBroker | undefined;
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await broker?.close();
  });

  it('drops, duplicates, reorders, delays, disconnects and corrupts as configured, and counts each', async () => {
    const b = await startTestBroker();
    broker = b;
    const machines = [0, 1].map((i) => ({ deviceId: `cm-faults-${i}-${process.pid}`, secret: 'x', region: 'eu' as const, usage: 'cafe' as const }));
    for (const m of machines) await b.publish(topics.consent(m.deviceId), JSON.stringify(consentFor(m.deviceId, ALL_CONSENT)), true);
    const f = await startFleet(
      {
        brokerUrl: b.url,
        machines,
        seed: 21,
        speed: 3_600,
        startAt: MONDAY + 6.5 * HOUR,
        faults: { drop: 0.05, duplicate: 0.05, reorder: 0.05, delay: 0.05, disconnect: 0.01, malformed: 0.05, delayMs: 50 },
      },
      pino({ level: 'silent' }),
    );
    fleet = f;
    await waitFor(() => INJECTED_FAULTS.every((fault) => f.stats().injected[fault] > 0), 30_000, 'every fault injected');
    f.injectFaults({});
    // A clean tail: the last events of each machine arrive, so the highest sequence number is known.
    await waitFor(() => f.stats().connected === machines.length && f.stats().buffered === 0, 10_000, 'link back');
    await f.whenPublished(f.stats().published + 20, 10_000);
    await f.stop();
    const stats = f.stats();
    expect(stats.dropped).toBe(0);

    const valid = (deviceId: string): number[] => b.events.filter((e) => e.deviceId === deviceId && e.seq >= 0).map((e) => e.seq);
    // Duplicates arrive; seqs arrive out of order; corrupt payloads carry no sequence number.
    expect(machines.some((m) => valid(m.deviceId).length > new Set(valid(m.deviceId)).size)).toBe(true);
    expect(machines.some((m) => valid(m.deviceId).some((s, i, all) => i > 0 && s < all[i - 1]!))).toBe(true);
    expect(b.events.some((e) => e.seq < 0)).toBe(true);
    // Each sequence number is either received or accounted for by a drop or a corruption.
    const received = machines.reduce((sum, m) => sum + new Set(b.events.filter((e) => e.deviceId === m.deviceId && e.seq >= 0).map((e) => e.seq)).size, 0);
    const produced = machines.reduce((sum, m) => sum + Math.max(...b.events.filter((e) => e.deviceId === m.deviceId).map((e) => e.seq)) + 1, 0);
    expect(received + stats.injected.drop + stats.injected.malformed).toBe(produced);
    expect(Math.max(...machines.map((m) => b.connects.get(m.deviceId) ?? 0))).toBeGreaterThan(1);
  });
});
