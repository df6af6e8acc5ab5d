import { describe, expect, it } from 'vitest';
import { eventIdSchema } from '../../schema/ids.ts';
import { createRng, deriveSeed } from '../../firmware-sim/random.ts';
import { createUuidV7Generator } from '../../firmware-sim/uuid-v7.ts';
import { createManualClock, createRampClock, createScaledClock, realDelayUntil } from '../../firmware-sim/sim-clock.ts';
import { runMachine, MONDAY } from './helpers.ts';

const stream = (r: ReturnType<typeof runMachine>): string => JSON.stringify(r.sink.events);

describe('determinism', () => {
  it('same seed and same clock give the identical event stream, ids included', () => {
    const a = runMachine({ usage: 'cafe', fleetSeed: 7, index: 3 }, 36);
    const b = runMachine({ usage: 'cafe', fleetSeed: 7, index: 3 }, 36);
    expect(a.sink.events.length).toBeGreaterThan(100);
    expect(stream(a)).toBe(stream(b));
  });

  it('does not depend on how often the clock is sampled', () => {
    const fine = runMachine({ usage: 'office', fleetSeed: 7 }, 48, undefined, 60_000);
    const coarse = runMachine({ usage: 'office', fleetSeed: 7 }, 48, undefined, 5 * 3_600_000);
    expect(stream(fine)).toBe(stream(coarse));
  });

  it('a different seed or index gives a different machine', () => {
    const base = stream(runMachine({ usage: 'cafe', fleetSeed: 7, index: 3 }, 24));
    expect(stream(runMachine({ usage: 'cafe', fleetSeed: 8, index: 3 }, 24))).not.toBe(base);
    expect(stream(runMachine({ usage: 'cafe', fleetSeed: 7, index: 4 }, 24))).not.toBe(base);
  });

  it('two devices from one seed behave alike but never share an event id', () => {
    const a = runMachine({ usage: 'cafe', deviceId: 'cm-aaaaaaaa' }, 24).sink.events;
    const b = runMachine({ usage: 'cafe', deviceId: 'cm-bbbbbbbb' }, 24).sink.events;
    expect(a.map((e) => e.body)).toEqual(b.map((e) => e.body));
    const ids = new Set(a.map((e) => e.id));
    expect(b.some((e) => ids.has(e.id))).toBe(false);
  });

  it('two runs of one machine that booted seconds apart never share an event id', () => {
    // Power-on reports fall on the owner's local hour boundaries, the same instant in both runs; a
    // shared id there made ingest take the second run's report for a duplicate and drop it.
    for (const usage of ['home', 'office', 'cafe'] as const) {
      const first = runMachine({ usage, bootAt: MONDAY }, 72).sink.events;
      const second = runMachine({ usage, bootAt: MONDAY + 2_000 }, 72).sink.events;
      const onBoundary = second.filter((e) => Date.parse(e.ts) % 3_600_000 === 0);
      expect(onBoundary.length).toBeGreaterThan(0);
      expect(onBoundary.every((e) => first.some((f) => f.ts === e.ts))).toBe(true);
      const ids = new Set(first.map((e) => e.id));
      expect(second.filter((e) => ids.has(e.id))).toEqual([]);
    }
  });

  it('event ids are UUIDv7, ordered like the sequence numbers, stamped with the event time', () => {
    const events = runMachine({ usage: 'cafe' }, 24).sink.events;
    events.forEach((e, i) => {
      expect(eventIdSchema.safeParse(e.id).success).toBe(true);
      expect(e.seq).toBe(i);
      expect(parseInt(e.id.replaceAll('-', '').slice(0, 12), 16)).toBe(Date.parse(e.ts));
      if (i > 0) expect(e.id > events[i - 1]!.id).toBe(true);
    });
  });

  it('keeps ids ordered through a burst inside one millisecond', () => {
    const next = createUuidV7Generator(createRng(1));
    const ids = Array.from({ length: 5000 }, () => next(MONDAY));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(eventIdSchema.safeParse(id).success).toBe(true);
  });

  it('derives distinct seeds from distinct inputs', () => {
    expect(deriveSeed(1, 2)).toBe(deriveSeed(1, 2));
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(1, 'b'));
  });

  it('a scaled clock runs speed times real time from its start', () => {
    let real = 1000;
    const clock = createScaledClock({ startAt: MONDAY, speed: 3600, realNow: () => real });
    expect(clock.now()).toBe(MONDAY);
    real += 1000;
    expect(clock.now()).toBe(MONDAY + 3_600_000);
    expect(realDelayUntil(clock, MONDAY + 2 * 3_600_000)).toBe(1000);
    const manual = createManualClock(MONDAY);
    manual.advance(5);
    expect(manual.now()).toBe(MONDAY + 5);
  });

  it('a ramp clock keeps real time until sped up, then runs at its speed from where it was', () => {
    let real = 1000;
    const clock = createRampClock({ startAt: MONDAY, speed: 3600, realNow: () => real });
    expect(clock.speed).toBe(1);
    real += 10_000;
    expect(clock.now()).toBe(MONDAY + 10_000);
    expect(realDelayUntil(clock, MONDAY + 70_000)).toBe(60_000);
    clock.speedUp();
    // No jump at the switch: the same instant, now advancing 3600 times faster.
    expect(clock.now()).toBe(MONDAY + 10_000);
    expect(clock.speed).toBe(3600);
    expect(realDelayUntil(clock, MONDAY + 10_000 + 3_600_000)).toBe(1000);
    real += 1000;
    expect(clock.now()).toBe(MONDAY + 10_000 + 3_600_000);
    clock.speedUp();
    expect(clock.now()).toBe(MONDAY + 10_000 + 3_600_000);
    // A fleet asked to run slower than real time never runs faster while it connects.
    expect(createRampClock({ startAt: MONDAY, speed: 0.5, realNow: () => real }).speed).toBe(0.5);
  });
});
