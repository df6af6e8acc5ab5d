import { describe, expect, it } from 'vitest';
import { eventEnvelopeSchema, type EventBody } from '../../schema/events.ts';
import { USAGE_PROFILES, localTime, type UsageProfileName } from '../../firmware-sim/usage-profiles.ts';
import { runMachine, DAY, HOUR, MONDAY } from './helpers.ts';

const bodyOf = <K extends 'brew' | 'status' | 'fault' | 'payment'>(e: { body: object }): EventBody<K> => e.body as EventBody<K>;

describe('machine model: brews', () => {
  const { sink } = runMachine({ usage: 'cafe' }, 48);
  const brews = sink.ofKind('brew').map((e) => bodyOf<'brew'>(e));

  it('produces only events the strict schema accepts', () => {
    expect(sink.events.length).toBeGreaterThan(100);
    for (const event of sink.events) expect(eventEnvelopeSchema.safeParse(event).success).toBe(true);
  });

  it('gives each completed brew values a barista would recognise', () => {
    const completed = brews.filter((b) => b.outcome === 'ok');
    expect(completed.length).toBeGreaterThan(100);
    for (const brew of completed) {
      if (brew.recipe === 'hot_water') {
        expect(brew.doseG).toBe(0);
        expect(brew.waterMl).toBeGreaterThan(200);
        continue;
      }
      expect(brew.doseG).toBeGreaterThanOrEqual(9);
      expect(brew.doseG).toBeLessThanOrEqual(23);
      expect(brew.waterTempC).toBeGreaterThanOrEqual(88);
      expect(brew.waterTempC).toBeLessThanOrEqual(96);
      expect(brew.pressureBar).toBeGreaterThanOrEqual(7);
      expect(brew.pressureBar).toBeLessThanOrEqual(11);
      expect(brew.durationMs).toBeGreaterThan(15_000);
      const milky = ['cappuccino', 'latte', 'flat_white'].includes(brew.recipe);
      expect(brew.milkMl > 0).toBe(milky);
      if (brew.recipe === 'espresso') expect(brew.waterMl).toBeLessThan(60);
    }
    expect(new Set(completed.map((b) => b.recipe)).size).toBeGreaterThanOrEqual(6);
  });

  it('charges cafe customers by card or phone, in euro cents, with a token only', () => {
    const payments = sink.ofKind('payment').map((e) => bodyOf<'payment'>(e));
    expect(payments.length).toBeGreaterThanOrEqual(brews.length);
    for (const p of payments) {
      expect(['card', 'mobile']).toContain(p.method);
      expect(p.currency).toBe('EUR');
      expect(p.amountMinor).toBeGreaterThanOrEqual(100);
      expect(p.amountMinor).toBeLessThanOrEqual(600);
      expect(p.token).toMatch(/^tok_/);
      expect(JSON.stringify(p)).not.toMatch(/\d{12,}/);
    }
  });

  it('charges nothing at home', () => {
    expect(runMachine({ usage: 'home' }, 72).sink.ofKind('payment')).toHaveLength(0);
  });

  it('uses the currency of the region', () => {
    const us = runMachine({ usage: 'office', region: 'us' }, 72)
      .sink.ofKind('payment')
      .map((e) => bodyOf<'payment'>(e));
    const cn = runMachine({ usage: 'cafe', region: 'cn' }, 24)
      .sink.ofKind('payment')
      .map((e) => bodyOf<'payment'>(e));
    expect(new Set(us.map((p) => p.currency))).toEqual(new Set(['USD']));
    expect(new Set(cn.map((p) => p.currency))).toEqual(new Set(['CNY']));
  });
});

describe('machine model: consumables and faults', () => {
  it('only a refill raises a level, and a refill fills to capacity', () => {
    const { sink } = runMachine({ usage: 'office' }, 14 * 24);
    const caps = USAGE_PROFILES.office.capacities;
    const statuses = sink.ofKind('status').map((e) => bodyOf<'status'>(e));
    expect(statuses.length).toBeGreaterThan(14 * 40);
    let raisedTo = 0;
    for (let i = 1; i < statuses.length; i++) {
      const [before, after] = [statuses[i - 1]!, statuses[i]!];
      if (after.waterTankMl > before.waterTankMl) {
        expect(after.waterTankMl).toBe(caps.waterTankMl);
        expect(after.groundsBinCount).toBe(0);
        raisedTo++;
      }
      if (after.waterTankMl < before.waterTankMl) expect(after.cupsUntilDescale).toBeLessThanOrEqual(before.cupsUntilDescale);
    }
    expect(raisedTo).toBeGreaterThan(0);
  });

  it('an empty tank raises a fault that blocks brewing until someone refills it', () => {
    // Of twenty homes over a month, some owner lets the tank run dry.
    const runs = Array.from({ length: 20 }, (_, index) => runMachine({ usage: 'home', index }, 30 * 24).sink);
    const dry = runs.find((s) => s.ofKind('fault').some((e) => bodyOf<'fault'>(e).code === 'water_empty'));
    expect(dry).toBeDefined();
    const events = dry!.events;
    const raised = events.findIndex((e) => e.kind === 'fault' && bodyOf<'fault'>(e).code === 'water_empty' && !bodyOf<'fault'>(e).cleared);
    const statusAtFault = events.slice(raised).find((e) => e.kind === 'status')!;
    expect(bodyOf<'status'>(statusAtFault).phase).toBe('fault');
    expect(bodyOf<'status'>(statusAtFault).waterTankMl).toBeLessThan(300);
    const cleared = events.findIndex((e, i) => i > raised && e.kind === 'fault' && bodyOf<'fault'>(e).code === 'water_empty' && bodyOf<'fault'>(e).cleared);
    expect(cleared).toBeGreaterThan(raised);
    expect(events.slice(raised + 1, cleared).some((e) => e.kind === 'brew')).toBe(false);
    const statusAfter = events.slice(cleared).find((e) => e.kind === 'status')!;
    expect(bodyOf<'status'>(statusAfter).waterTankMl).toBe(USAGE_PROFILES.home.capacities.waterTankMl);
    expect(bodyOf<'status'>(statusAfter).phase).not.toBe('fault');
  });
});

describe('machine model: daily rhythm', () => {
  const brewsPerDay = (usage: UsageProfileName, index: number): { weekday: number; weekend: number; byHour: number[] } => {
    const { model, sink } = runMachine({ usage, index }, 7 * 24);
    const byHour = new Array<number>(24).fill(0);
    let weekday = 0;
    let weekend = 0;
    for (const e of sink.ofKind('brew')) {
      const started = Date.parse(e.ts) - bodyOf<'brew'>(e).durationMs;
      const local = localTime(started, model.spot.city.utcOffsetHours);
      byHour[local.hour]!++;
      if (local.weekend) weekend++;
      else weekday++;
    }
    return { weekday: weekday / 5, weekend: weekend / 2, byHour };
  };
  const expectedWeekday = (usage: UsageProfileName): number => USAGE_PROFILES[usage].weekdayRate.reduce((a, b) => a + b, 0);

  it.each(['home', 'office', 'cafe'] as const)('%s machines brew about as often as the profile says, never at closed hours', (usage) => {
    const runs = Array.from({ length: 4 }, (_, index) => brewsPerDay(usage, index));
    const weekday = runs.reduce((sum, r) => sum + r.weekday, 0) / runs.length;
    expect(weekday).toBeGreaterThan(expectedWeekday(usage) * 0.6);
    expect(weekday).toBeLessThan(expectedWeekday(usage) * 1.4);
    USAGE_PROFILES[usage].weekdayRate.forEach((rate, hour) => {
      if (rate === 0) for (const r of runs) expect(r.byHour[hour]).toBe(0);
    });
  });

  it('offices are quiet at weekends and cafes are busiest', () => {
    const office = Array.from({ length: 4 }, (_, index) => brewsPerDay('office', index));
    expect(office.reduce((s, r) => s + r.weekend, 0)).toBeLessThan(office.reduce((s, r) => s + r.weekday, 0) / 5);
    expect(brewsPerDay('cafe', 0).weekday).toBeGreaterThan(brewsPerDay('office', 0).weekday);
    expect(brewsPerDay('office', 0).weekday).toBeGreaterThan(brewsPerDay('home', 0).weekday);
  });

  it('reports status every half hour and its place every six hours', () => {
    const { sink } = runMachine({ usage: 'home' }, 24);
    const at = (kind: 'status' | 'location'): number[] => sink.ofKind(kind).map((e) => Date.parse(e.ts));
    expect(at('location')).toEqual([0, 6, 12, 18, 24].map((h) => MONDAY + h * HOUR));
    const statusTimes = at('status');
    for (let t = MONDAY; t <= MONDAY + DAY; t += HOUR / 2) expect(statusTimes).toContain(t);
  });
});
