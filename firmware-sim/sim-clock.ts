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

/** A clock that runs at real speed until told to go at its full speed (a fleet still connecting). */
export interface RampClock extends SimClock {
  /**
   * From now on `speed` simulated milliseconds per real one, continuing from the current simulated
   * instant: now() never jumps and never runs backwards across the switch. Timers armed for the
   * slow clock must be armed again by their owners. Calling it again changes nothing.
   */
  speedUp(): void;
}

/**
 * Starts at real speed (or `speed`, if slower) from `startAt`. A large fleet connects for tens of seconds; at full speed the
 * machines that came first would brew hours of simulated time, all of it offered to the broker
 * while the later ones still wait for a login, so the fleet keeps real time until it is online.
 */
export function createRampClock({ startAt, speed, realNow = () => performance.now() }: ScaledClockOptions): RampClock {
  if (!(speed > 0)) throw new Error('clock speed must be positive');
  let fromSim = startAt;
  let fromReal = realNow();
  let current = Math.min(1, speed);
  let switched = false;
  return {
    get speed() {
      return current;
    },
    now: () => fromSim + (realNow() - fromReal) * current,
    speedUp() {
      if (switched) return;
      switched = true;
      const real = realNow();
      fromSim += (real - fromReal) * current;
      fromReal = real;
      current = speed;
    },
  };
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
