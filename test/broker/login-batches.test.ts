import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfigSchema, type BrokerConfigInput } from '../../broker/config.ts';
import { createDeviceVerifier, type DeviceVerifier } from '../../broker/device-verifier.ts';
import { createRevocations } from '../../broker/revocations.ts';
import { captureLogs, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const COUNT = 30;
const id = (i: number): string => `cm-batch${String(i).padStart(6, '0')}`;
const DEVICES = Object.fromEntries(Array.from({ length: COUNT }, (_, i) => [id(i), { secret: `secret-of-device-${i}`, region: i % 2 === 0 ? 'eu' : 'us' }]));

/** Every third login has a wrong secret, every fifth is an unknown device; the rest are good. */
const logins = Array.from({ length: COUNT }, (_, i) => {
  if (i % 5 === 4) return { deviceId: `cm-nobody${String(i).padStart(6, '0')}`, secret: 'whatever', expected: { outcome: 'invalid' } };
  if (i % 3 === 2) return { deviceId: id(i), secret: 'not-the-secret', expected: { outcome: 'invalid' } };
  return { deviceId: id(i), secret: `secret-of-device-${i}`, expected: { outcome: 'valid', region: i % 2 === 0 ? 'eu' : 'us' } };
});

/** The verifier against a real registry over HTTP: logins waiting at once share requests. */
describe('device verifier: batched registry checks (real registry over HTTP)', () => {
  let registry: DeviceRegistry;
  const verifiers: DeviceVerifier[] = [];
  beforeAll(async () => {
    registry = await startDeviceRegistry(DEVICES);
  });
  afterEach(() => {
    for (const v of verifiers.splice(0)) v.close();
    registry.hang = false;
    registry.delayMs = 0;
  });
  afterAll(() => registry?.close());

  const verifierWith = (authChecks: BrokerConfigInput['authChecks']): DeviceVerifier => {
    const config = brokerConfigSchema.parse({
      deviceAuth: { url: registry.url, token: registry.token, cacheTtlMs: 0 },
      authChecks: { negativeCacheMs: 0, ...authChecks },
    });
    const verifier = createDeviceVerifier(
      { deviceAuth: config.deviceAuth!, authChecks: config.authChecks },
      createRevocations({ horizonMs: 60_000, maxEntries: 10 }),
      captureLogs().logger,
    );
    verifiers.push(verifier);
    return verifier;
  };
  const counted = async (run: () => Promise<unknown>): Promise<{ requests: number; batches: number[] }> => {
    const [requests, batches] = [registry.requests, registry.batches.length];
    await run();
    return { requests: registry.requests - requests, batches: registry.batches.slice(batches) };
  };

  it('sends the logins of one turn together even while request slots are free, and every login gets its own answer', async () => {
    const verifier = verifierWith({ maxConcurrent: 2, maxQueued: 100 });
    let answers: unknown[] = [];
    const seen = await counted(async () => {
      answers = await Promise.all(logins.map((l) => verifier.verify(l.deviceId, l.secret)));
    });
    expect(answers).toEqual(logins.map((l) => l.expected));
    // All 30 arrived in one turn: one request, not one each for the first two free slots.
    expect(seen).toEqual({ requests: 1, batches: [COUNT] });
    expect(verifier.stats()).toMatchObject({ requests: 1, requestItems: COUNT });
  });

  it('sends a lone login in a request of its own, without waiting for company', async () => {
    const verifier = verifierWith({ maxConcurrent: 2, maxQueued: 100 });
    const seen = await counted(async () => {
      expect(await verifier.verify(logins[0]!.deviceId, logins[0]!.secret)).toEqual(logins[0]!.expected);
      expect(await verifier.verify(logins[1]!.deviceId, logins[1]!.secret)).toEqual(logins[1]!.expected);
    });
    expect(seen).toEqual({ requests: 2, batches: [1, 1] });
  });

  it('while a check is under way, logins that trickle in wait for its answer and go together', async () => {
    const verifier = verifierWith({ maxConcurrent: 32, maxQueued: 100 });
    registry.delayMs = 150;
    const seen = await counted(async () => {
      const answers: Promise<unknown>[] = [];
      // One login per turn of the event loop, as a storm's stragglers arrive: eight slots stay free.
      for (const l of logins.slice(0, 8)) {
        answers.push(verifier.verify(l.deviceId, l.secret));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(await Promise.all(answers)).toEqual(logins.slice(0, 8).map((l) => l.expected));
    });
    // The first alone; the seven that came during its round trip in one request, not seven.
    expect(seen).toEqual({ requests: 2, batches: [1, 7] });
  });

  it('puts at most batchMax logins in one request', async () => {
    const verifier = verifierWith({ maxConcurrent: 1, maxQueued: 100, batchMax: 4 });
    let answers: unknown[] = [];
    const seen = await counted(async () => {
      answers = await Promise.all(logins.map((l) => verifier.verify(l.deviceId, l.secret)));
    });
    expect(answers).toEqual(logins.map((l) => l.expected));
    // 30 in batches of at most four, one request at a time.
    expect(seen.batches).toEqual([4, 4, 4, 4, 4, 4, 4, 2]);
    expect(seen.requests).toBe(8);
  });

  it('holds at most maxQueued logins plus one per free slot; the rest are busy at once, unsent', async () => {
    const verifier = verifierWith({ maxConcurrent: 2, maxQueued: 3 });
    let answers: Awaited<ReturnType<DeviceVerifier['verify']>>[] = [];
    const seen = await counted(async () => {
      answers = await Promise.all(logins.slice(0, 10).map((l) => verifier.verify(l.deviceId, l.secret)));
    });
    expect(answers.slice(0, 5)).toEqual(logins.slice(0, 5).map((l) => l.expected));
    expect(answers.slice(5)).toEqual(Array(5).fill({ outcome: 'unavailable', reason: 'busy', busy: true }));
    expect(seen).toEqual({ requests: 1, batches: [5] });
  });

  it('sends every login alone to the single route with batchMax 1', async () => {
    const verifier = verifierWith({ maxConcurrent: 2, maxQueued: 100, batchMax: 1 });
    let answers: unknown[] = [];
    const seen = await counted(async () => {
      answers = await Promise.all(logins.map((l) => verifier.verify(l.deviceId, l.secret)));
    });
    expect(answers).toEqual(logins.map((l) => l.expected));
    expect(seen).toEqual({ requests: COUNT, batches: [] });
  });

  it('shares one request between concurrent checks of one pair inside a batch too', async () => {
    const verifier = verifierWith({ maxConcurrent: 1, maxQueued: 100 });
    const good = logins[0]!;
    const seen = await counted(async () => {
      const answers = await Promise.all([
        verifier.verify(good.deviceId, good.secret),
        ...Array.from({ length: 5 }, () => verifier.verify(id(1), DEVICES[id(1)]!.secret)),
      ]);
      expect(answers.map((a) => a.outcome)).toEqual(Array(6).fill('valid'));
    });
    // Two distinct pairs: one request for both.
    expect(seen.batches).toEqual([2]);
  });

  it('refuses a secret no registry could accept without asking, rather than spoil a batch', async () => {
    const verifier = verifierWith({ maxConcurrent: 1, maxQueued: 100 });
    const seen = await counted(async () => {
      expect(await verifier.verify(id(0), 'x'.repeat(257))).toEqual({ outcome: 'invalid' });
    });
    expect(seen.requests).toBe(0);
  });

  it('answers the checks under way at once when closed, instead of at their deadline', async () => {
    const verifier = verifierWith({ maxConcurrent: 1, maxQueued: 100 });
    registry.hang = true;
    const asked = registry.requests;
    const answers = Promise.all(logins.slice(0, 3).map((l) => verifier.verify(l.deviceId, l.secret)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(registry.requests - asked).toBe(1);
    const closedAt = Date.now();
    verifier.close();
    expect(await answers).toEqual(Array(3).fill({ outcome: 'unavailable', reason: 'unreachable' }));
    // The registry timeout here is the default 5 s.
    expect(Date.now() - closedAt).toBeLessThan(1_000);
    expect(registry.requests - asked).toBe(1);
  });

  it('gives every waiting login of a hanging batch its timeout, and frees the slot', async () => {
    const config = { maxConcurrent: 1, maxQueued: 100 };
    const cfg = brokerConfigSchema.parse({ deviceAuth: { url: registry.url, token: registry.token, cacheTtlMs: 0, timeoutMs: 300 }, authChecks: config });
    const verifier = createDeviceVerifier(
      { deviceAuth: cfg.deviceAuth!, authChecks: cfg.authChecks },
      createRevocations({ horizonMs: 60_000, maxEntries: 10 }),
      captureLogs().logger,
    );
    verifiers.push(verifier);
    registry.hang = true;
    const answers = await Promise.all(logins.slice(0, 6).map((l) => verifier.verify(l.deviceId, l.secret)));
    // The first timed out at the registry; the others either waited past their deadline (busy) or
    // went in the batch after it and timed out there.
    expect(answers[0]).toEqual({ outcome: 'unavailable', reason: 'timeout' });
    for (const answer of answers) expect(answer.outcome).toBe('unavailable');
    expect(verifier.stats()).toMatchObject({ active: 0, queued: 0 });
    registry.hang = false;
    expect(await verifier.verify(logins[0]!.deviceId, logins[0]!.secret)).toEqual(logins[0]!.expected);
  });
});
