import { describe, expect, it } from 'vitest';
import { QuarantineBudget } from '../../server/ingest/quarantine-budget.ts';
import { demoClockAheadMs } from '../../launcher/clock-window.ts';
import { MAX_CLOCK_WINDOW_MS } from '../../server/config.ts';

const HOUR = 3_600_000;
const at = Date.UTC(2026, 11, 1, 10, 0, 0);

describe('quarantine budget per device per hour', () => {
  it('lets each device have its cap of rows in a clock hour, then none until the next hour', () => {
    const budget = new QuarantineBudget(3, 1_000);
    const takes = (device: string, now: number, n: number) => Array.from({ length: n }, () => budget.take(device, now));
    expect(takes('cm-a', at, 5)).toEqual([true, true, true, false, false]);
    // Another device has its own count.
    expect(takes('cm-b', at + 1_000, 3)).toEqual([true, true, true]);
    expect(budget.take('cm-a', at + HOUR - 1)).toBe(false);
    expect(budget.take('cm-a', at + HOUR)).toBe(true);
  });

  it('keeps its memory bounded however many device ids turn up: the rest share one bucket', () => {
    const budget = new QuarantineBudget(2, 100);
    let kept = 0;
    for (let i = 0; i < 10_000; i++) if (budget.take(`cm-flood-${i}`, at)) kept++;
    expect(budget.tracked).toBeLessThanOrEqual(101);
    // 100 tracked devices with 2 each would be 200; the 9,900 others shared one bucket of 2.
    expect(kept).toBe(100 + 2);
    // A tracked device still has its own budget.
    expect(budget.take('cm-flood-0', at)).toBe(true);
    expect(budget.take('cm-flood-0', at)).toBe(false);
    // A new hour forgets everything.
    budget.take('cm-next', at + HOUR);
    expect(budget.tracked).toBe(1);
  });

  it('a cap of 0 keeps no quarantine rows at all', () => {
    expect(new QuarantineBudget(0, 10).take('cm-a', at)).toBe(false);
  });
});

describe('the demo fleet clock window (launcher)', () => {
  it('covers how far accelerated clocks get during the run, and never less than the server default', () => {
    expect(demoClockAheadMs(1, 60)).toBe(24 * HOUR);
    // x360 for 4 minutes (a day ahead), plus a minute of start and shutdown, plus an hour.
    expect(demoClockAheadMs(360, 240)).toBe(359 * (240 + 60) * 1000 + HOUR);
    // Open-ended at x360: a week of running, ~7 simulated years.
    expect(demoClockAheadMs(360, 0)).toBe(359 * (7 * 86_400 + 60) * 1000 + HOUR);
    expect(demoClockAheadMs(10_000_000, 0)).toBe(MAX_CLOCK_WINDOW_MS);
  });
});
