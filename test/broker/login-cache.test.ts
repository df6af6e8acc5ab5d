import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfigSchema, type BrokerConfigInput } from '../../broker/config.ts';
import { createDeviceVerifier, type DeviceVerifier } from '../../broker/device-verifier.ts';
import { createRevocations, type Revocations } from '../../broker/revocations.ts';
import type { DeviceId } from '../../schema/ids.ts';
import { waitUntil } from '../support/wait.ts';
import { captureLogs, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const ALICE = { id: 'cm-alice0001' as DeviceId, secret: 'alice-one-time-secret-xyz' };
const BOB = { id: 'cm-bob00002' as DeviceId, secret: 'bob-one-time-secret-abc' };
const CAROL = { id: 'cm-carol0003' as DeviceId, secret: 'carol-one-time-secret-def' };
const DEVICES = {
  [ALICE.id]: { secret: ALICE.secret, region: 'eu' },
  [BOB.id]: { secret: BOB.secret, region: 'us' },
  [CAROL.id]: { secret: CAROL.secret, region: 'eu' },
};

/** The broker's warm login cache against a registry over real HTTP: what it saves, and what it never lets through. */
describe('broker: verified-login cache', () => {
  let registry: DeviceRegistry;
  beforeAll(async () => {
    registry = await startDeviceRegistry(DEVICES);
  });
  afterAll(() => registry?.close());

  const verifierWith = (cacheTtlMs: number, authChecks: BrokerConfigInput['authChecks'] = {}): { verifier: DeviceVerifier; revocations: Revocations } => {
    const config = brokerConfigSchema.parse({ deviceAuth: { url: registry.url, token: registry.token, cacheTtlMs }, authChecks });
    const revocations = createRevocations({ horizonMs: 60_000, maxEntries: 10 });
    return {
      verifier: createDeviceVerifier({ deviceAuth: config.deviceAuth!, authChecks: config.authChecks }, revocations, captureLogs().logger),
      revocations,
    };
  };

  it('answers a repeated login from memory until the entry expires, then asks again', async () => {
    const { verifier } = verifierWith(300);
    const asked = registry.requests;
    expect(await verifier.verify(ALICE.id, ALICE.secret)).toEqual({ outcome: 'valid', region: 'eu' });
    expect(await verifier.verify(ALICE.id, ALICE.secret)).toEqual({ outcome: 'valid', region: 'eu' });
    expect(registry.requests).toBe(asked + 1);
    const cachedAt = Date.now();
    await waitUntil('the entry to expire', () => Date.now() - cachedAt > 350);
    expect(await verifier.verify(ALICE.id, ALICE.secret)).toEqual({ outcome: 'valid', region: 'eu' });
    expect(registry.requests).toBe(asked + 2);
    verifier.close();
  });

  it('never accepts another secret for a cached device from memory', async () => {
    const { verifier } = verifierWith(60_000);
    await verifier.verify(BOB.id, BOB.secret);
    const asked = registry.requests;
    expect(await verifier.verify(BOB.id, 'not-bobs-secret-at-all')).toEqual({ outcome: 'invalid' });
    expect(registry.requests).toBe(asked + 1);
    verifier.close();
  });

  it('refuses a revoked device even while its verified entry is cached, without asking the registry', async () => {
    const { verifier, revocations } = verifierWith(60_000);
    expect(await verifier.verify(CAROL.id, CAROL.secret)).toMatchObject({ outcome: 'valid' });
    // The revocation listener does both; the revocation alone is enough, forget() only frees the entry.
    revocations.revoke(CAROL.id, Date.now());
    const asked = registry.requests;
    expect(await verifier.verify(CAROL.id, CAROL.secret)).toEqual({ outcome: 'invalid', remembered: true });
    verifier.forget(CAROL.id);
    expect(verifier.stats().verifiedCached).toBe(0);
    expect(await verifier.verify(CAROL.id, CAROL.secret)).toEqual({ outcome: 'invalid', remembered: true });
    expect(registry.requests).toBe(asked);
    verifier.close();
  });

  it('holds at most verifiedCacheMax devices, dropping the oldest', async () => {
    const { verifier } = verifierWith(60_000, { verifiedCacheMax: 2 });
    for (const device of [ALICE, BOB, CAROL]) await verifier.verify(device.id, device.secret);
    expect(verifier.stats().verifiedCached).toBe(2);
    const asked = registry.requests;
    await verifier.verify(CAROL.id, CAROL.secret);
    await verifier.verify(BOB.id, BOB.secret);
    expect(registry.requests).toBe(asked);
    await verifier.verify(ALICE.id, ALICE.secret);
    expect(registry.requests).toBe(asked + 1);
    expect(verifier.stats().verifiedCached).toBe(2);
    verifier.close();
  });
});
