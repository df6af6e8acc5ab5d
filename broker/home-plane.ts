import type { Logger } from 'pino';
import { isTlsMqttUrl, isTransportUrl } from '../mqtt-wire/transport.ts';
import { deviceHomeSchema } from '../schema/directory.ts';
import type { DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import { BUSY, createConcurrencyLimit } from './concurrency-limit.ts';
import type { BrokerConfig } from './config.ts';
import { createRegistryHttp, type RegistryAnswer } from './registry-http.ts';

/**
 * Where a device lives, asked of the plane directory (`GET {url}/api/v1/directory/devices/:id`,
 * schema/directory.ts) only after this plane's registry refused the login as unknown. What that may
 * cost is bounded like the registry checks: one request per device at a time (concurrent logins of
 * the same device share it), at most `maxConcurrent` requests running and `maxQueued` waiting (no
 * longer than `timeoutMs`), each request cut off after `timeoutMs`. Answers, a 404 included, are
 * remembered for `cacheTtlMs` in at most `cacheMax` entries, the oldest going first; a failure is
 * never remembered, so the next login asks again once the directory is back.
 */
export type HomeLookup =
  /** mqttsUrl: the plane's TLS listener for certificate devices, when the directory names one. */
  | { outcome: 'home'; region: RegionId; mqttUrl: string; mqttsUrl?: string }
  /** The directory does not know the device either (404). */
  | { outcome: 'unknown' }
  /** No usable answer: unreachable, timed out, busy, a status other than 200/404, or a malformed body. */
  | { outcome: 'unavailable'; reason: string };

export interface HomePlaneStats {
  /** Requests sent to the directory. */
  directoryLookups: number;
  /** Lookups that got no usable answer (directoryLookups that failed, and those refused as busy). */
  directoryUnavailable: number;
  /** Lookups answered from the cache. */
  directoryCacheHits: number;
}

export interface HomePlanes {
  lookup(deviceId: DeviceId): Promise<HomeLookup>;
  stats(): HomePlaneStats;
  /** Aborts requests in flight, so closing the broker does not wait for their timeouts. */
  close(): void;
}

export type DirectorySettings = NonNullable<BrokerConfig['plane']>['directory'];

export function createHomePlanes(settings: DirectorySettings, logger: Logger): HomePlanes {
  // Every entry lives equally long, so insertion order is expiry order: the oldest is always first.
  const cache = new Map<DeviceId, { answer: HomeLookup; expiresAt: number }>();
  const inFlight = new Map<DeviceId, Promise<HomeLookup>>();
  const http = createRegistryHttp(settings.maxConcurrent);
  const limit = createConcurrencyLimit({ maxActive: settings.maxConcurrent, maxQueued: settings.maxQueued, maxWaitMs: settings.timeoutMs });
  const closing = new AbortController();
  const counts: HomePlaneStats = { directoryLookups: 0, directoryUnavailable: 0, directoryCacheHits: 0 };
  // A trailing slash keeps a path the directory is mounted under (http://host/routing/ + api/v1/…).
  const base = settings.url.endsWith('/') ? settings.url : `${settings.url}/`;

  function remember(deviceId: DeviceId, answer: HomeLookup): void {
    if (settings.cacheTtlMs === 0) return;
    const now = Date.now();
    cache.delete(deviceId);
    for (const [id, entry] of cache) {
      if (entry.expiresAt > now && cache.size < settings.cacheMax) break;
      cache.delete(id);
    }
    cache.set(deviceId, { answer, expiresAt: now + settings.cacheTtlMs });
  }

  /** Our own timer rather than AbortSignal.timeout() inside AbortSignal.any() (nodejs/node#57736, see device-verifier.ts). */
  async function ask(deviceId: DeviceId): Promise<HomeLookup> {
    counts.directoryLookups++;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('directory did not answer in time', 'TimeoutError')), settings.timeoutMs);
    let answer: RegistryAnswer;
    try {
      answer = await http.get(
        new URL(`api/v1/directory/devices/${encodeURIComponent(deviceId)}`, base).toString(),
        settings.token,
        AbortSignal.any([closing.signal, deadline.signal]),
      );
    } catch (error) {
      return { outcome: 'unavailable', reason: (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
    } finally {
      clearTimeout(timer);
    }
    if (answer.status === 404) return { outcome: 'unknown' };
    if (answer.status !== 200) return { outcome: 'unavailable', reason: `status ${answer.status}` };
    const home = deviceHomeSchema.safeParse(answer.json);
    // The reference is sent to the device as is, so it must be a URL our devices can open.
    if (!home.success || home.data.deviceId !== deviceId || !isTransportUrl(home.data.mqttUrl)) return { outcome: 'unavailable', reason: 'malformed answer' };
    const { region, mqttUrl, mqttsUrl } = home.data;
    if (mqttsUrl !== undefined && !isTlsMqttUrl(mqttsUrl)) return { outcome: 'unavailable', reason: 'malformed answer' };
    return { outcome: 'home', region, mqttUrl, ...(mqttsUrl ? { mqttsUrl } : {}) };
  }

  function lookup(deviceId: DeviceId): Promise<HomeLookup> {
    const cached = cache.get(deviceId);
    if (cached && cached.expiresAt > Date.now()) {
      counts.directoryCacheHits++;
      return Promise.resolve(cached.answer);
    }
    const pending = inFlight.get(deviceId);
    if (pending) return pending;
    const request = limit
      .run(() => ask(deviceId))
      .then((answer): HomeLookup => {
        const result: HomeLookup = answer === BUSY ? { outcome: 'unavailable', reason: 'busy' } : answer;
        if (result.outcome === 'unavailable') {
          counts.directoryUnavailable++;
          if (!closing.signal.aborted) logger.warn({ reason: result.reason }, 'plane directory unavailable');
        } else remember(deviceId, result);
        return result;
      })
      .finally(() => inFlight.delete(deviceId));
    inFlight.set(deviceId, request);
    return request;
  }

  return {
    lookup,
    stats: () => ({ ...counts }),
    close() {
      closing.abort();
      http.close();
    },
  };
}
