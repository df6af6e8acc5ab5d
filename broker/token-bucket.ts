/**
 * Per-client publish rate: a token bucket refilled at `perSecond`, holding at most `burst`. Pure: the
 * caller passes the clock, so tests need no timers.
 */
export interface TokenBucket {
  /** Takes one token; false when the bucket is empty (the publish is over the rate). */
  take(nowMs: number): boolean;
}

export function createTokenBucket(perSecond: number, burst: number, nowMs: number): TokenBucket {
  let tokens = burst;
  let last = nowMs;
  return {
    take(now) {
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
