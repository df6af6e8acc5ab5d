/**
 * How a fleet brings its machines online: one first attempt per machine, at most `window` of them
 * waiting for their CONNACK at once, and, with `ratePerS` above 0, no more than that many started
 * per second. With `ratePerS` 0 the pace is the broker's own: a new attempt starts as an earlier
 * one is answered, and the window halves after an attempt that failed (a refusal such as "busy", a
 * timeout) and grows by one after each success, back up to `maxWindow` (additive increase,
 * multiplicative decrease, as TCP does). So a slow broker is not pushed into timing logins out,
 * and a fast one is not held back by a fixed rate.
 */
export interface ConnectRampOptions {
  count: number;
  /** Attempts waiting for their answer at once, at most. */
  maxWindow: number;
  /** Attempts started per second, at most; 0 leaves the pace to the broker (see above). */
  ratePerS: number;
}

export interface ConnectRamp {
  /** Resolves once every machine had its first attempt answered, or the ramp was halted. */
  readonly done: Promise<void>;
  /** Starts no further attempt; those under way finish on their own. */
  halt(): void;
}

/** `attempt(index)` resolves true when the machine connected, false when its first attempt failed. */
export function rampConnections(options: ConnectRampOptions, attempt: (index: number) => Promise<boolean>): ConnectRamp {
  const { count, maxWindow, ratePerS } = options;
  const intervalMs = ratePerS > 0 ? 1000 / ratePerS : 0;
  let window = maxWindow;
  let next = 0;
  let inFlight = 0;
  let halted = false;
  let nextSlotAt = 0;
  let timer: NodeJS.Timeout | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const settle = (connected: boolean): void => {
    inFlight--;
    window = connected ? Math.min(maxWindow, window + 1) : ratePerS > 0 ? window : Math.max(1, Math.floor(window / 2));
    pump();
  };

  function pump(): void {
    if (halted || next >= count) {
      if (inFlight === 0 || halted) finish();
      return;
    }
    while (next < count && inFlight < window) {
      if (intervalMs > 0) {
        const now = performance.now();
        if (nextSlotAt > now) {
          // One timer for the whole ramp: the next start is due then.
          timer ??= setTimeout(
            () => {
              timer = null;
              pump();
            },
            Math.max(1, nextSlotAt - now),
          );
          return;
        }
        nextSlotAt = Math.max(nextSlotAt, now - intervalMs) + intervalMs;
      }
      const index = next++;
      inFlight++;
      attempt(index).then(settle, () => settle(false));
    }
  }

  pump();
  return {
    done,
    halt() {
      halted = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      finish();
    },
  };
}
