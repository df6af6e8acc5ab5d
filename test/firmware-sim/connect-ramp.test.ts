import { describe, expect, it } from 'vitest';
import { rampConnections } from '../../firmware-sim/connect-ramp.ts';

/** An attempt that answers on a later turn of the event loop, as a CONNACK would. */
function attempts(outcome: (index: number) => boolean) {
  const seen = { started: [] as number[], inFlight: 0, maxInFlight: 0, inFlightAtStart: [] as number[] };
  const attempt = (index: number): Promise<boolean> => {
    seen.started.push(index);
    seen.inFlight++;
    seen.inFlightAtStart.push(seen.inFlight);
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    return new Promise((resolve) =>
      setImmediate(() => {
        seen.inFlight--;
        resolve(outcome(index));
      }),
    );
  };
  return { seen, attempt };
}

describe('connect ramp', () => {
  it('tries every machine once, in order, never more than the window at once', async () => {
    const { seen, attempt } = attempts(() => true);
    await rampConnections({ count: 100, maxWindow: 8, ratePerS: 0 }, attempt).done;
    expect(seen.started).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen.maxInFlight).toBe(8);
  });

  it('halves the window after failed attempts, down to one at a time', async () => {
    const { seen, attempt } = attempts(() => false);
    await rampConnections({ count: 40, maxWindow: 16, ratePerS: 0 }, attempt).done;
    expect(seen.started).toHaveLength(40);
    expect(seen.inFlightAtStart.slice(0, 16)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(seen.inFlightAtStart.slice(-10)).toEqual(Array.from({ length: 10 }, () => 1));
  });

  it('with a rate, starts no more than one per interval beyond the first', async () => {
    const { seen, attempt } = attempts(() => true);
    const ramp = rampConnections({ count: 1000, maxWindow: 1000, ratePerS: 20 }, attempt);
    await new Promise((resolve) => setTimeout(resolve, 250));
    ramp.halt();
    await ramp.done;
    // 250 ms at 20/s: 5 intervals, plus the two the first slot lets through; never all of them.
    expect(seen.started.length).toBeGreaterThanOrEqual(2);
    expect(seen.started.length).toBeLessThanOrEqual(8);
  });

  it('starts nothing after halt(), and done resolves', async () => {
    const { seen, attempt } = attempts(() => true);
    const ramp = rampConnections({ count: 1000, maxWindow: 4, ratePerS: 0 }, attempt);
    ramp.halt();
    await ramp.done;
    const startedAtHalt = seen.started.length;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(startedAtHalt).toBe(4);
    expect(seen.started).toHaveLength(4);
  });
});
