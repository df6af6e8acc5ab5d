/**
 * Per-client publish rate: a token bucket refilled at `perSecond`, holding at most `burst`. Pure: the
 * caller passes the clock, so tests need no timers.
 */
export interface TokenBucket {
  /** Takes one token; false when the bucket is empty (the publish is over the rate). */
  take(nowMs: number): boolean;
}

/** A class, not a closure: one bucket per connected device, each two numbers and a shared method. */
class Bucket implements TokenBucket {
  private tokens: number;
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private last: number,
  ) {
    this.tokens = burst;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export function createTokenBucket(perSecond: number, burst: number, nowMs: number): TokenBucket {
  return new Bucket(perSecond, burst, nowMs);
}
