/**
 * Simulated time. The model only ever reads `now()`, so tests drive it by hand and the fleet runs it
 * `speed` times faster than real time from a fixed start.
 */
export interface SimClock {
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Simulated milliseconds per real millisecond. */
  readonly speed: number;
}

export interface ScaledClockOptions {
  startAt: number;
  speed: number;
  /** Real monotonic milliseconds; injectable for tests. */
  realNow?: () => number;
}

export function createScaledClock({ startAt, speed, realNow = () => performance.now() }: ScaledClockOptions): SimClock {
  if (!(speed > 0)) throw new Error('clock speed must be positive');
  const realStart = realNow();
  return { speed, now: () => startAt + (realNow() - realStart) * speed };
}

export interface ManualClock extends SimClock {
  set(at: number): void;
  advance(ms: number): void;
}

export function createManualClock(startAt: number): ManualClock {
  let current = startAt;
  return {
    speed: 1,
    now: () => current,
    set(at: number): void {
      current = at;
    },
    advance(ms: number): void {
      current += ms;
    },
  };
}

/** Real milliseconds until a simulated instant, never negative. */
export const realDelayUntil = (clock: SimClock, simAt: number): number => Math.max(0, (simAt - clock.now()) / clock.speed);
