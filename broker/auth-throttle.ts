/**
 * Slows down, then refuses, a source that keeps failing authentication, so a device secret cannot be
 * guessed at line speed. Keyed by remote address and username: one broken device behind a shared
 * NAT does not lock out its neighbours. Pure apart from the clock the caller passes; bounded in memory
 * (the oldest keys are forgotten first).
 */
export interface AuthThrottleSettings {
  /** Failures within windowMs before answers are delayed. */
  slowAfter: number;
  /** First delay; doubles with each further failure up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
  /** Failures within windowMs before the source is refused outright for refuseMs. */
  refuseAfter: number;
  refuseMs: number;
  windowMs: number;
  maxKeys: number;
}

export type ThrottleDecision = { action: 'allow' } | { action: 'delay'; delayMs: number } | { action: 'refuse'; untilMs: number };

interface Entry {
  failures: number;
  firstAt: number;
  refusedUntil: number;
}

export interface AuthThrottle {
  /** What to do with a new attempt from this key, before checking its credentials. */
  check(key: string, nowMs: number): ThrottleDecision;
  failed(key: string, nowMs: number): void;
  succeeded(key: string): void;
}

export function createAuthThrottle(settings: AuthThrottleSettings): AuthThrottle {
  const entries = new Map<string, Entry>();

  const current = (key: string, now: number): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.refusedUntil <= now && now - entry.firstAt > settings.windowMs) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return {
    check(key, now) {
      const entry = current(key, now);
      if (!entry) return { action: 'allow' };
      if (entry.refusedUntil > now) return { action: 'refuse', untilMs: entry.refusedUntil };
      if (entry.failures < settings.slowAfter) return { action: 'allow' };
      const doublings = Math.min(entry.failures - settings.slowAfter, 30);
      return { action: 'delay', delayMs: Math.min(settings.maxDelayMs, settings.delayMs * 2 ** doublings) };
    },
    failed(key, now) {
      let entry = current(key, now);
      if (!entry) {
        if (entries.size >= settings.maxKeys) entries.delete(entries.keys().next().value!);
        entry = { failures: 0, firstAt: now, refusedUntil: 0 };
        entries.set(key, entry);
      }
      entry.failures++;
      if (entry.failures >= settings.refuseAfter) {
        entry.refusedUntil = now + settings.refuseMs;
        // The refusal period starts a fresh window, so the source gets slowAfter tries after it.
        entry.failures = 0;
        entry.firstAt = now;
      }
    },
    succeeded(key) {
      entries.delete(key);
    },
  };
}
