import { describe, expect, it } from 'vitest';
import { createAuthThrottle, createLoginThrottle } from '../../broker/auth-throttle.ts';
import { BUSY, createConcurrencyLimit } from '../../broker/concurrency-limit.ts';
import { createRevocations } from '../../broker/revocations.ts';
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

describe('login throttle: per address + username and per address (pure)', () => {
  const LOGIN = { ...SETTINGS, maxKeys: 100, refuseAfter: 50, slowAfter: 40, addressSlowAfter: 3, addressRefuseAfter: 5 };

  it('refuses an address that rotates usernames, though no single pair failed often', () => {
    const throttle = createLoginThrottle(LOGIN);
    const decisions = [];
    for (let i = 0; i < 5; i++) {
      decisions.push(throttle.check('10.0.0.1', `cm-guess${i}`, 1_000));
      throttle.failed('10.0.0.1', `cm-guess${i}`, 1_000);
    }
    expect(decisions.map((d) => d.action)).toEqual(['allow', 'allow', 'allow', 'delay', 'delay']);
    expect(decisions[3]).toMatchObject({ scope: 'address', delayMs: 100 });
    // A fresh username, even the right one, is refused now; another address is not affected.
    expect(throttle.check('10.0.0.1', 'cm-alice0001', 2_000)).toEqual({ action: 'refuse', untilMs: 61_000, scope: 'address' });
    expect(throttle.check('10.0.0.2', 'cm-alice0001', 2_000)).toEqual({ action: 'allow' });
  });

  it('forgets a pair on success but not what its address did with other names', () => {
    const throttle = createLoginThrottle(LOGIN);
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.1', `cm-guess${i}`, 0);
    throttle.succeeded('10.0.0.1', 'cm-alice0001');
    expect(throttle.check('10.0.0.1', 'cm-alice0001', 1)).toMatchObject({ action: 'delay', scope: 'address' });
  });

  it('keeps the pair limit for one name, and at most maxKeys addresses', () => {
    const throttle = createLoginThrottle({ ...LOGIN, slowAfter: 1, refuseAfter: 2, addressSlowAfter: 10, addressRefuseAfter: 20, maxKeys: 2 });
    throttle.failed('10.0.0.1', 'cm-alice0001', 0);
    throttle.failed('10.0.0.1', 'cm-alice0001', 0);
    expect(throttle.check('10.0.0.1', 'cm-alice0001', 1)).toMatchObject({ action: 'refuse', scope: 'pair' });
    for (const address of ['10.0.0.2', '10.0.0.3', '10.0.0.4']) for (let i = 0; i < 10; i++) throttle.failed(address, `cm-x${i}`, 0);
    // 10.0.0.2 was the oldest of three addresses over a cap of two: forgotten.
    expect(throttle.check('10.0.0.2', 'cm-new', 1)).toEqual({ action: 'allow' });
    expect(throttle.check('10.0.0.4', 'cm-new', 1)).toMatchObject({ action: 'delay', scope: 'address' });
  });
});

describe('concurrency limit (pure)', () => {
  it('runs maxActive at once, queues maxQueued, refuses the rest at once and a wait past maxWaitMs', async () => {
    const limit = createConcurrencyLimit({ maxActive: 2, maxQueued: 1, maxWaitMs: 50 });
    const releases: (() => void)[] = [];
    const task = () => new Promise<string>((resolve) => releases.push(() => resolve('done')));
    const running = [limit.run(task), limit.run(task)];
    const queued = limit.run(task);
    expect(await limit.run(task)).toBe(BUSY);
    expect([limit.active(), limit.queued()]).toEqual([2, 1]);
    expect(await queued).toBe(BUSY);
    expect(limit.queued()).toBe(0);
    const next = limit.run(task);
    releases[0]!();
    expect(await running[0]).toBe('done');
    await new Promise((resolve) => setImmediate(resolve));
    expect(releases).toHaveLength(3);
    releases[1]!();
    releases[2]!();
    expect(await next).toBe('done');
    expect(limit.active()).toBe(0);
  });
});

describe('revocations (pure)', () => {
  it('remembers a revoked device for the horizon, and at most maxEntries devices', () => {
    const revocations = createRevocations({ horizonMs: 1_000, maxEntries: 2 });
    revocations.revoke('cm-a', 0);
    expect(revocations.has('cm-a', 1_000)).toBe(true);
    expect(revocations.has('cm-a', 1_001)).toBe(false);
    revocations.revoke('cm-b', 10);
    revocations.revoke('cm-c', 20);
    expect(revocations.has('cm-a', 30)).toBe(false);
    expect([revocations.has('cm-b', 30), revocations.has('cm-c', 30)]).toEqual([true, true]);
  });
});
