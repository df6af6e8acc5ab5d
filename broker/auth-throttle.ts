/**
 * Slows down, then refuses, a source that keeps failing authentication, so a device secret cannot be
 * guessed at line speed. One throttle counts per key; createLoginThrottle below keys one by address +
 * username and one by address. Pure apart from the clock the caller passes; bounded in memory (the
 * oldest keys are forgotten first).
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

/** Settings of both throttles: the pair's as AuthThrottleSettings, the address's thresholds on top. */
export interface LoginThrottleSettings extends AuthThrottleSettings {
  addressSlowAfter: number;
  addressRefuseAfter: number;
}

/** Which throttle decided: the (address, username) pair's or the whole address's. */
export type LoginThrottleDecision = ThrottleDecision & { scope?: 'pair' | 'address' };

/**
 * Failed logins counted twice: per address + username (one broken device behind a NAT does not lock
 * out its neighbours) and per address across every username (a guesser rotating usernames still
 * hits a limit). The stricter answer wins. A success forgets only its pair's failures: logging in one
 * valid device must not wipe what the address did with other names.
 */
export interface LoginThrottle {
  check(address: string, username: string, nowMs: number): LoginThrottleDecision;
  failed(address: string, username: string, nowMs: number): void;
  succeeded(address: string, username: string): void;
}

export function createLoginThrottle(settings: LoginThrottleSettings): LoginThrottle {
  const pairs = createAuthThrottle(settings);
  const addresses = createAuthThrottle({ ...settings, slowAfter: settings.addressSlowAfter, refuseAfter: settings.addressRefuseAfter });
  const pairKey = (address: string, username: string): string => `${address}\u0000${username}`;
  return {
    check(address, username, now) {
      const byAddress = addresses.check(address, now);
      if (byAddress.action === 'refuse') return { ...byAddress, scope: 'address' };
      const byPair = pairs.check(pairKey(address, username), now);
      if (byPair.action === 'refuse') return { ...byPair, scope: 'pair' };
      const delayMs = Math.max(byPair.action === 'delay' ? byPair.delayMs : 0, byAddress.action === 'delay' ? byAddress.delayMs : 0);
      if (delayMs === 0) return { action: 'allow' };
      return { action: 'delay', delayMs, scope: byAddress.action === 'delay' && byAddress.delayMs === delayMs ? 'address' : 'pair' };
    },
    failed(address, username, now) {
      pairs.failed(pairKey(address, username), now);
      addresses.failed(address, now);
    },
    succeeded(address, username) {
      pairs.succeeded(pairKey(address, username));
    },
  };
}
