import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import type { BrokerConfigInput } from '../../broker/config.ts';
import { createDeviceVerifier } from '../../broker/device-verifier.ts';
import { brokerConfigSchema } from '../../broker/config.ts';
import { createRevocations } from '../../broker/revocations.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, clientPool, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001', secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002', secret: 'bob-one-time-secret-abc' };
const CAROL = { id: 'cm-carol0003', secret: 'carol-one-time-secret-def' };
const DEVICES = {
  [ALICE.id]: { secret: ALICE.secret, region: 'eu' },
  [BOB.id]: { secret: BOB.secret, region: 'us' },
  [CAROL.id]: { secret: CAROL.secret, region: 'eu' },
};

/** Login floods against the real broker and a real registry over HTTP. */
describe('broker: login floods (real sockets)', () => {
  let registry: DeviceRegistry;
  const brokers: TcpBroker[] = [];
  const logs = captureLogs();
  const pool = clientPool();

  beforeAll(async () => {
    registry = await startDeviceRegistry(DEVICES);
  });
  afterEach(async () => {
    registry.hang = false;
    registry.failWith = null;
    await pool.endAll();
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });
  afterAll(() => registry?.close());

  const start = async (overrides: Partial<BrokerConfigInput>): Promise<TcpBroker> => {
    const broker = await brokerFor(registry, logs.logger, { metricsPort: 0, ...overrides });
    brokers.push(broker);
    return broker;
  };
  const login = (broker: TcpBroker, id: string, secret: string) => pool.connack(pool.open(broker.mqttUrl, { clientId: id, username: id, password: secret }));

  it('refuses an address that keeps failing across rotating usernames, without asking the registry', async () => {
    // The pair thresholds are out of reach: only the per-address count can stop this.
    const broker = await start({
      authThrottle: { slowAfter: 100, refuseAfter: 100, addressSlowAfter: 4, addressRefuseAfter: 5, delayMs: 10, maxDelayMs: 20, refuseMs: 60_000 },
    });
    for (let i = 0; i < 5; i++) expect(await login(broker, `cm-guess${i}aaa`, `guess-${i}`)).toBe(4);
    const asked = registry.requests;
    expect(await login(broker, ALICE.id, ALICE.secret)).toBe(5);
    expect(registry.requests).toBe(asked);
    expect(broker.stats()).toMatchObject({ authThrottled: 1, authThrottledByAddress: 1 });
    expect(logs.lines.some((l) => l.includes('"reason":"auth_throttled_address"'))).toBe(true);
    expect(await (await fetch(broker.metricsUrl!)).text()).toMatch(/^brewtel_broker_auth_address_throttled_total 1$/m);
  });

  it('caps registry checks in flight: while one is under way, further CONNECTs wait in a bounded queue, beyond it CONNACK 3 at once', async () => {
    const broker = await start({
      deviceAuth: { url: registry.url, token: registry.token, timeoutMs: 1_500 },
      authChecks: { maxConcurrent: 2, maxQueued: 1 },
    });
    registry.hang = true;
    const asked = registry.requests;
    const waiting = [login(broker, ALICE.id, ALICE.secret)];
    await waitUntil('one check at the registry', () => broker.stats().authChecksActive === 1, 5_000);
    // They wait for that answer (to go together): maxQueued, plus one for the free slot.
    waiting.push(login(broker, BOB.id, BOB.secret), login(broker, CAROL.id, CAROL.secret));
    await waitUntil('one check at the registry, two queued', () => broker.stats().authChecksActive === 1 && broker.stats().authChecksQueued === 2, 5_000);
    const startedAt = Date.now();
    expect(await login(broker, 'cm-dave00004', 'dave-secret')).toBe(3);
    // Refused at once, not after the registry's timeout.
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    expect(registry.requests - asked).toBe(1);
    // The hanging check times out (CONNACK 3); the two that waited either timed out waiting or went
    // together when its slot freed and timed out at the registry: one request for both, never more.
    expect(await Promise.all(waiting)).toEqual([3, 3, 3]);
    expect(registry.requests - asked).toBeLessThanOrEqual(2);
    expect(broker.stats().authChecksBusy).toBeGreaterThanOrEqual(1);
    const text = await (await fetch(broker.metricsUrl!)).text();
    expect(text).toMatch(/^brewtel_broker_auth_checks_busy_total [123]$/m);
    expect(text).toMatch(/^brewtel_broker_auth_checks_active 0$/m);
    // With the registry back, the same devices get in.
    registry.hang = false;
    expect(await login(broker, ALICE.id, ALICE.secret)).toBe(0);
  });

  it('refuses a pair that just failed from memory for negativeCacheMs, then asks again', async () => {
    const broker = await start({ authChecks: { negativeCacheMs: 300 } });
    const asked = registry.requests;
    expect(await login(broker, ALICE.id, 'wrong-secret')).toBe(4);
    expect(await login(broker, ALICE.id, 'wrong-secret')).toBe(4);
    expect(await login(broker, ALICE.id, 'wrong-secret')).toBe(4);
    expect(registry.requests - asked).toBe(1);
    expect(broker.stats().authNegativeCacheHits).toBe(2);
    // Another secret for the same device is a different pair: asked, and the right one gets in.
    expect(await login(broker, ALICE.id, ALICE.secret)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await login(broker, ALICE.id, 'wrong-secret')).toBe(4);
    expect(registry.requests - asked).toBe(3);
    expect(await (await fetch(broker.metricsUrl!)).text()).toMatch(/^brewtel_broker_auth_negative_cache_hits_total 2$/m);
    // Every refusal still counts toward the throttles.
    expect(broker.stats().authFailures).toBe(4);
  });
});

describe('device verifier: every map keyed by client input is bounded (real registry over HTTP)', () => {
  let registry: DeviceRegistry;
  beforeAll(async () => {
    registry = await startDeviceRegistry(DEVICES);
  });
  afterEach(() => {
    registry.failWith = null;
    registry.hang = false;
  });
  afterAll(() => registry?.close());

  const verifierWith = (authChecks: BrokerConfigInput['authChecks'], deviceAuth: { timeoutMs?: number } = {}) => {
    const config = brokerConfigSchema.parse({ deviceAuth: { url: registry.url, token: registry.token, ...deviceAuth }, authChecks });
    return createDeviceVerifier(
      { deviceAuth: config.deviceAuth!, authChecks: config.authChecks },
      createRevocations({ horizonMs: 60_000, maxEntries: 10 }),
      captureLogs().logger,
    );
  };

  it('gives up on a hanging registry at its deadline, even when a garbage collection runs meanwhile', async () => {
    // Node 20 loses an AbortSignal.timeout() held only by AbortSignal.any() at the next collection
    // (nodejs/node#57736): the check, and its slot, then waited for ever. gc() made callable here.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const verifier = verifierWith({}, { timeoutMs: 300 });
    registry.hang = true;
    const startedAt = Date.now();
    const verification = verifier.verify(ALICE.id, ALICE.secret);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      collect();
    }
    const outcome = await Promise.race([verification, new Promise((resolve) => setTimeout(() => resolve('no answer after 3 s'), 3_000))]);
    expect(outcome).toEqual({ outcome: 'unavailable', reason: 'timeout' });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    verifier.close();
  });

  it('remembers at most verifiedCacheMax devices, the oldest forgotten first', async () => {
    const verifier = verifierWith({ verifiedCacheMax: 2 });
    for (const who of [ALICE, BOB, CAROL]) expect(await verifier.verify(who.id, who.secret)).toMatchObject({ outcome: 'valid' });
    expect(verifier.stats().verifiedCached).toBe(2);
    registry.failWith = 500;
    expect(await verifier.verify(ALICE.id, ALICE.secret)).toMatchObject({ outcome: 'unavailable' });
    expect(await verifier.verify(BOB.id, BOB.secret)).toMatchObject({ outcome: 'valid' });
    expect(await verifier.verify(CAROL.id, CAROL.secret)).toMatchObject({ outcome: 'valid' });
    verifier.close();
  });

  it('remembers at most negativeCacheMax refused pairs', async () => {
    const verifier = verifierWith({ negativeCacheMax: 2, negativeCacheMs: 60_000 });
    for (const secret of ['wrong-1', 'wrong-2', 'wrong-3']) expect(await verifier.verify(ALICE.id, secret)).toEqual({ outcome: 'invalid' });
    const asked = registry.requests;
    expect(await verifier.verify(ALICE.id, 'wrong-3')).toEqual({ outcome: 'invalid', remembered: true });
    expect(await verifier.verify(ALICE.id, 'wrong-2')).toEqual({ outcome: 'invalid', remembered: true });
    expect(registry.requests).toBe(asked);
    expect(await verifier.verify(ALICE.id, 'wrong-1')).toEqual({ outcome: 'invalid' });
    expect(registry.requests).toBe(asked + 1);
    verifier.close();
  });

  it('shares one request between concurrent checks of one pair, so in-flight entries are bounded by the check slots', async () => {
    const verifier = verifierWith({ maxConcurrent: 1, maxQueued: 0 });
    const asked = registry.requests;
    const same = await Promise.all([verifier.verify(BOB.id, BOB.secret), verifier.verify(BOB.id, BOB.secret), verifier.verify(BOB.id, BOB.secret)]);
    expect(same.map((v) => v.outcome)).toEqual(['valid', 'valid', 'valid']);
    expect(registry.requests).toBe(asked + 1);
    const [first, other] = await Promise.all([verifier.verify(ALICE.id, ALICE.secret), verifier.verify(CAROL.id, CAROL.secret)]);
    expect(first.outcome).toBe('valid');
    expect(other).toEqual({ outcome: 'unavailable', reason: 'busy', busy: true });
    verifier.close();
  });
});
