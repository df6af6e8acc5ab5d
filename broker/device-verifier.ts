import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { deviceAuthRequestSchema, deviceAuthResponseSchema } from '../schema/api.ts';
import type { DeviceId } from '../schema/ids.ts';
import type { RegionId } from '../schema/regions.ts';
import type { BrokerConfig } from './config.ts';

/**
 * Asks the server's device registry whether a (device id, secret) pair is valid, as EMQX and VerneMQ
 * HTTP auth hooks do. Successful answers are remembered for `cacheTtlMs`, keyed by a hash of the
 * secret so the secret itself is never kept; concurrent checks of the same pair share one request,
 * so a reconnect storm costs one round trip per device.
 */
export type Verification =
  | { outcome: 'valid'; region: RegionId }
  | { outcome: 'invalid' }
  | { outcome: 'unavailable'; reason: string };

export interface DeviceVerifier {
  verify(deviceId: DeviceId, secret: string): Promise<Verification>;
  /** Aborts requests in flight so closing the broker does not wait for their timeouts. */
  close(): void;
}

export function createDeviceVerifier(settings: BrokerConfig['deviceAuth'], logger: Logger): DeviceVerifier {
  const verified = new Map<string, { region: RegionId; expiresAt: number }>();
  const inFlight = new Map<string, Promise<Verification>>();
  const closing = new AbortController();

  async function ask(deviceId: DeviceId, secret: string): Promise<Verification> {
    let response: Response;
    try {
      response = await fetch(settings.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(deviceAuthRequestSchema.parse({ deviceId, secret })),
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(settings.timeoutMs)]),
      });
    } catch (error) {
      return { outcome: 'unavailable', reason: (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable' };
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      return { outcome: 'invalid' };
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      return { outcome: 'unavailable', reason: `status ${response.status}` };
    }
    const body = deviceAuthResponseSchema.safeParse(await response.json().catch(() => null));
    if (!body.success || body.data.deviceId !== deviceId) return { outcome: 'unavailable', reason: 'malformed answer' };
    return { outcome: 'valid', region: body.data.region };
  }

  function remember(key: string, region: RegionId): void {
    if (settings.cacheTtlMs === 0) return;
    const now = Date.now();
    // Swept only on insert: entries are created by successful logins alone, so the map is bounded by
    // the fleet size and a sweep per login is cheap enough.
    for (const [k, entry] of verified) if (entry.expiresAt <= now) verified.delete(k);
    verified.set(key, { region, expiresAt: now + settings.cacheTtlMs });
  }

  return {
    async verify(deviceId, secret) {
      const key = `${deviceId}\u0000${createHash('sha256').update(secret).digest('base64')}`;
      const cached = verified.get(key);
      if (cached && cached.expiresAt > Date.now()) return { outcome: 'valid', region: cached.region };
      const pending = inFlight.get(key);
      if (pending) return pending;
      const check = ask(deviceId, secret)
        .then((verification) => {
          if (verification.outcome === 'valid') remember(key, verification.region);
          else if (verification.outcome === 'unavailable') logger.warn({ deviceId, reason: verification.reason }, 'device registry unavailable');
          return verification;
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, check);
      return check;
    },
    close() {
      closing.abort();
    },
  };
}
