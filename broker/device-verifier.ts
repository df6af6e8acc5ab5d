import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { deviceAuthBatchResponseSchema, deviceAuthRequestSchema, deviceAuthResponseSchema, deviceCertificateRequestSchema } from '../schema/api.ts';
import type { DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import { createBatchLimit } from './batch-limit.ts';
import { BUSY } from './concurrency-limit.ts';
import type { BrokerConfig } from './config.ts';
import { createRegistryHttp, type RegistryAnswer } from './registry-http.ts';
import type { Revocations } from './revocations.ts';

/**
 * Asks the server's device registry whether a (device id, secret) pair is valid, as EMQX and VerneMQ
 * HTTP auth hooks do, or, for a client-certificate login, whether the device exists and is not
 * revoked. What a login may cost is bounded here:
 * - a verified answer is remembered for `cacheTtlMs`, one entry per device holding a hash of the
 *   secret (never the secret), at most `verifiedCacheMax` devices;
 * - a refused pair is refused again from memory for `negativeCacheMs` (at most `negativeCacheMax`);
 * - concurrent checks of the same pair share one request, and at most `maxConcurrent` requests run
 *   at once; up to `maxQueued` logins wait (no longer than `timeoutMs`), the rest answer `busy` at
 *   once. A login that finds a request slot free is sent at once; the logins that waited meanwhile go
 *   together, up to `batchMax` per request, to the registry's batch route (`url` + `:batch`), so a
 *   reconnect storm costs one request per up-to-`batchMax` logins (broker/batch-limit.ts). With
 *   `batchMax` 1 every login is its own request to `url`, for registries without the batch route.
 *   `inFlight` holds one entry per login sent or waiting, so it is bounded by the slots and the queue.
 * `forget` drops a revoked device's cached answer; while `revocations` holds the device it is refused
 * without a request, and an answer that was under way when it was revoked is not believed.
 */
export type Verification =
  | { outcome: 'valid'; region: RegionId }
  /** remembered: refused from memory (the pair was just refused, or the device was revoked), no request made. */
  | { outcome: 'invalid'; remembered?: true }
  /** busy: refused at once because maxConcurrent checks ran and maxQueued waited. */
  | { outcome: 'unavailable'; reason: string; busy?: true };

export interface VerifierStats {
  /** Refused from the negative cache, without asking the registry. */
  negativeHits: number;
  /** Refused because maxConcurrent checks ran and maxQueued waited (or a wait timed out). */
  busy: number;
  /** Requests sent to the registry, and the logins (or certificate checks) they carried. */
  requests: number;
  requestItems: number;
  active: number;
  queued: number;
  verifiedCached: number;
}

export interface DeviceVerifier {
  verify(deviceId: DeviceId, secret: string): Promise<Verification>;
  /** For a device whose client certificate the TLS listener verified: does it exist, unrevoked? */
  verifyCertificate(deviceId: DeviceId): Promise<Verification>;
  /** The device's credentials were revoked: nothing cached about it may let it in again. */
  forget(deviceId: DeviceId): void;
  stats(): VerifierStats;
  /** Aborts requests in flight so closing the broker does not wait for their timeouts. */
  close(): void;
}

export interface VerifierSettings {
  deviceAuth: NonNullable<BrokerConfig['deviceAuth']>;
  authChecks: BrokerConfig['authChecks'];
}

/** One registry question: a secret check (batchable) or a certificate check (always alone). */
type Question = { deviceId: DeviceId; secret: string } | { deviceId: DeviceId; secret?: undefined };

/** Reads a 200 answer into one verification per device, or null when it is malformed. */
type ReadAnswer = (json: unknown, deviceIds: DeviceId[]) => Verification[] | null;

const singleAnswer: ReadAnswer = (json, [deviceId]) => {
  const answer = deviceAuthResponseSchema.safeParse(json);
  return answer.success && answer.data.deviceId === deviceId ? [{ outcome: 'valid', region: answer.data.region }] : null;
};

/** One result per item in request order; a valid one must name its item's device. */
const batchAnswers: ReadAnswer = (json, deviceIds) => {
  const answer = deviceAuthBatchResponseSchema.safeParse(json);
  if (!answer.success || answer.data.results.length !== deviceIds.length) return null;
  return answer.data.results.map((result, i): Verification => {
    if (result.outcome === 'invalid') return { outcome: 'invalid' };
    if (result.outcome === 'busy') return { outcome: 'unavailable', reason: 'registry busy' };
    return result.deviceId === deviceIds[i] ? { outcome: 'valid', region: result.region } : { outcome: 'unavailable', reason: 'malformed answer' };
  });
};

/** The certificate check has no secret; this stands in for the secret's hash in the cache entries. */
const CERTIFICATE = 'certificate';

export function createDeviceVerifier({ deviceAuth, authChecks }: VerifierSettings, revocations: Revocations, logger: Logger): DeviceVerifier {
  // Insertion order is expiry order (every entry lives equally long), so the oldest is always first.
  const verified = new Map<DeviceId, { credential: string; region: RegionId; expiresAt: number }>();
  const refused = new Map<string, number>();
  const inFlight = new Map<string, Promise<Verification>>();
  const certificateUrl = deviceAuth.certificateUrl ?? new URL('device-certificate', deviceAuth.url).toString();
  const batchUrl = `${deviceAuth.url}:batch`;
  const closing = new AbortController();
  // Each request's own deadline controller, so close() can abort them all: one signal per request
  // instead of an AbortSignal.any() of two, which Node builds with weak references per request.
  const deadlines = new Set<AbortController>();
  // One kept-alive socket per request slot: the slots bound the requests, so they bound the sockets.
  const registry = createRegistryHttp(authChecks.maxConcurrent);
  const counts = { negativeHits: 0, busy: 0, requests: 0, requestItems: 0 };
  const limit = createBatchLimit<Question, Verification>(
    { maxActive: authChecks.maxConcurrent, maxQueued: authChecks.maxQueued, maxWaitMs: deviceAuth.timeoutMs, maxBatch: authChecks.batchMax },
    (question) => question.secret !== undefined && authChecks.batchMax > 1,
    ask,
  );

  function ask(questions: Question[]): Promise<Verification[]> {
    counts.requests++;
    counts.requestItems += questions.length;
    const [first] = questions;
    if (first!.secret === undefined)
      return post(certificateUrl, deviceCertificateRequestSchema.parse({ deviceId: first!.deviceId }), [first!.deviceId], singleAnswer);
    if (authChecks.batchMax === 1)
      return post(deviceAuth.url, deviceAuthRequestSchema.parse({ deviceId: first!.deviceId, secret: first!.secret }), [first!.deviceId], singleAnswer);
    return post(
      batchUrl,
      { items: questions.map(({ deviceId, secret }) => ({ deviceId, secret })) },
      questions.map((q) => q.deviceId),
      batchAnswers,
    );
  }

  /**
   * The deadline is our own timer, not `AbortSignal.timeout()`: inside `AbortSignal.any()`, Node 20
   * holds the timeout signal only weakly and a garbage collection before it fires loses it
   * (nodejs/node#57736), so a hanging registry would hold the login, and its check slot, for ever.
   * It covers the answer's body too, as the signal did. close() aborts it like the deadline does.
   */
  async function post(url: string, body: unknown, deviceIds: DeviceId[], read: ReadAnswer): Promise<Verification[]> {
    const deadline = new AbortController();
    if (closing.signal.aborted) return deviceIds.map(() => ({ outcome: 'unavailable', reason: 'unreachable' }));
    deadlines.add(deadline);
    const timer = setTimeout(() => deadline.abort(new DOMException('device registry did not answer in time', 'TimeoutError')), deviceAuth.timeoutMs);
    const all = (verification: Verification): Verification[] => deviceIds.map(() => verification);
    let answer: RegistryAnswer;
    try {
      answer = await registry.post(url, deviceAuth.token, body, deadline.signal);
    } catch (error) {
      return all({ outcome: 'unavailable', reason: (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' });
    } finally {
      clearTimeout(timer);
      deadlines.delete(deadline);
    }
    // 401/403: the registry refused the login (or, for a batch, the broker's token: then none may in).
    if (answer.status === 401 || answer.status === 403) return all({ outcome: 'invalid' });
    if (answer.status !== 200) return all({ outcome: 'unavailable', reason: `status ${answer.status}` });
    return read(answer.json, deviceIds) ?? all({ outcome: 'unavailable', reason: 'malformed answer' });
  }

  function remember(deviceId: DeviceId, credential: string, region: RegionId): void {
    if (deviceAuth.cacheTtlMs === 0) return;
    const now = Date.now();
    verified.delete(deviceId);
    for (const [id, entry] of verified) {
      if (entry.expiresAt > now && verified.size < authChecks.verifiedCacheMax) break;
      verified.delete(id);
    }
    verified.set(deviceId, { credential, region, expiresAt: now + deviceAuth.cacheTtlMs });
  }

  function rememberRefusal(key: string): void {
    if (authChecks.negativeCacheMs === 0) return;
    const now = Date.now();
    refused.delete(key);
    for (const [k, expiresAt] of refused) {
      if (expiresAt > now && refused.size < authChecks.negativeCacheMax) break;
      refused.delete(k);
    }
    refused.set(key, now + authChecks.negativeCacheMs);
  }

  function check(deviceId: DeviceId, credential: string, question: Question): Promise<Verification> {
    const now = Date.now();
    if (revocations.has(deviceId, now)) return Promise.resolve({ outcome: 'invalid', remembered: true });
    const cached = verified.get(deviceId);
    if (cached && cached.credential === credential && cached.expiresAt > now) return Promise.resolve({ outcome: 'valid', region: cached.region });
    const key = `${deviceId}\u0000${credential}`;
    const refusedUntil = refused.get(key);
    if (refusedUntil !== undefined) {
      if (refusedUntil > now) {
        counts.negativeHits++;
        return Promise.resolve({ outcome: 'invalid', remembered: true });
      }
      refused.delete(key);
    }
    const pending = inFlight.get(key);
    if (pending) return pending;
    const request = limit
      .run(question)
      .then((answer): Verification => {
        if (answer === BUSY) {
          counts.busy++;
          return { outcome: 'unavailable', reason: 'busy', busy: true };
        }
        // The registry may have read the device just before its erasure committed.
        if (answer.outcome === 'valid' && revocations.has(deviceId, Date.now())) return { outcome: 'invalid' };
        if (answer.outcome === 'valid') remember(deviceId, credential, answer.region);
        else if (answer.outcome === 'invalid') rememberRefusal(key);
        // Aborted by close(): the broker is stopping, and no device was turned away for it.
        else if (!closing.signal.aborted) logger.warn({ deviceId, reason: answer.reason }, 'device registry unavailable');
        return answer;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, request);
    return request;
  }

  return {
    verify(deviceId, secret) {
      const credential = createHash('sha256').update(secret).digest('base64');
      // Checked here, not at the registry: one malformed item would make it refuse the whole batch.
      if (!deviceAuthRequestSchema.safeParse({ deviceId, secret }).success) return Promise.resolve({ outcome: 'invalid' });
      return check(deviceId, credential, { deviceId, secret });
    },
    verifyCertificate(deviceId) {
      return check(deviceId, CERTIFICATE, { deviceId });
    },
    forget(deviceId) {
      verified.delete(deviceId);
    },
    stats: () => ({ ...counts, active: limit.active(), queued: limit.queued(), verifiedCached: verified.size }),
    close() {
      closing.abort();
      for (const deadline of deadlines) deadline.abort(new DOMException('the broker is closing', 'AbortError'));
      registry.close();
    },
  };
}
