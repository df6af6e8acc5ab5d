import { describe, expect, it } from 'vitest';
import { createAuthThrottle } from '../../broker/auth-throttle.ts';
import { createTokenBucket } from '../../broker/token-bucket.ts';

const SETTINGS = { slowAfter: 3, delayMs: 100, maxDelayMs: 800, refuseAfter: 6, refuseMs: 60_000, windowMs: 600_000, maxKeys: 2 };

describe('auth throttle (pure)', () => {
  it('allows, then delays with doubling up to a cap, then refuses for refuseMs', () => {
    const throttle = createAuthThrottle(SETTINGS);
    const decisions = [];
    for (let i = 0; i < 6; i++) {
      decisions.push(throttle.check('a', 1_000));
      throttle.failed('a', 1_000);
    }
    expect(decisions).toEqual([
      { action: 'allow' },
      { action: 'allow' },
      { action: 'allow' },
      { action: 'delay', delayMs: 100 },
      { action: 'delay', delayMs: 200 },
      { action: 'delay', delayMs: 400 },
    ]);
    expect(throttle.check('a', 30_000)).toEqual({ action: 'refuse', untilMs: 61_000 });
    expect(throttle.check('a', 61_001)).toEqual({ action: 'allow' });
  });

  it('forgets a key on success and after the window, and keeps at most maxKeys', () => {
    const throttle = createAuthThrottle(SETTINGS);
    for (let i = 0; i < 4; i++) throttle.failed('a', 0);
    throttle.succeeded('a');
    expect(throttle.check('a', 0)).toEqual({ action: 'allow' });
    for (let i = 0; i < 4; i++) throttle.failed('b', 0);
    expect(throttle.check('b', 600_001)).toEqual({ action: 'allow' });
    for (let i = 0; i < 4; i++) throttle.failed('c', 0);
    throttle.failed('d', 0);
    throttle.failed('e', 0);
    expect(throttle.check('c', 1)).toEqual({ action: 'allow' });
  });

  it('token bucket: a burst, then the sustained rate', () => {
    const bucket = createTokenBucket(2, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false]);
    expect(bucket.take(499)).toBe(false);
    expect(bucket.take(1_000)).toBe(true);
  });
});
