import rateLimit, { normalizeIP, type CreateRateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpRateLimitConfig } from '../config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Identified, Identify } from './auth.ts';
import { HttpError } from './errors.ts';

/** Called once per device login by the broker; counted in a bucket of its own (see config). */
export const DEVICE_AUTH_ROUTE = '/api/v1/broker/device-auth';
/**
 * The same check for several logins in one request (fastify's `::` is a literal colon). It counts in
 * the same bucket once per item, so batching never lets more logins through a window than single calls.
 */
export const DEVICE_AUTH_BATCH_ROUTE = '/api/v1/broker/device-auth::batch';
const DEVICE_AUTH_ROUTES = new Set([DEVICE_AUTH_ROUTE, DEVICE_AUTH_BATCH_ROUTE]);

type Limit = 'address' | 'token' | 'device_auth';
type Check = ReturnType<FastifyInstance['createRateLimit']>;

/** Lets a request through or throws 429 RATE_LIMITED with Retry-After; a bad URL goes through it too. */
export type Admit = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const isBrokerDeviceAuth = (request: FastifyRequest, identified: Identified | null): boolean =>
  identified?.principal.role === 'broker' && request.method === 'POST' && DEVICE_AUTH_ROUTES.has(request.routeOptions.url ?? '');

/**
 * Per-address and per-token request limits on every route, before authentication (so refused tokens
 * count against their address). Keys are the normalised client address and the token's SHA-256, never
 * the token; each bucket is an LRU of bounded size.
 */
export async function installRateLimits(
  app: FastifyInstance,
  config: HttpRateLimitConfig,
  identify: Identify,
  metrics: Pick<Metrics, 'httpRateLimited'>,
): Promise<Admit> {
  // No global hook: the two buckets are checked by one hook of ours, so both always count.
  await app.register(rateLimit, { global: false });
  const bucket = (max: number, key: (request: FastifyRequest) => string, tracked: number): Check => {
    // `cache` sizes the bucket's LRU; createRateLimit passes it on, though its types leave it out.
    const options: CreateRateLimitOptions & { cache: number } = { max, timeWindow: config.windowMs, keyGenerator: key, cache: tracked };
    return app.createRateLimit(options);
  };
  const tokenKey = (request: FastifyRequest): string => identify(request)?.tokenKey ?? 'none';
  const limits: Record<Limit, Check> = {
    // A socket already gone has no address left; such requests share one key rather than fail.
    address: bucket(config.perAddress, (request) => normalizeIP(request.ip || 'unknown'), config.trackedAddresses),
    // Only valid tokens get here, so this LRU holds at most one entry per configured token.
    token: bucket(config.perToken, tokenKey, config.trackedAddresses),
    device_auth: bucket(config.deviceAuthPerWindow, tokenKey, 16),
  };

  const apply = async (limit: Limit, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const outcome = await limits[limit](request);
    if (outcome.isAllowed || !outcome.isExceeded) return;
    metrics.httpRateLimited.inc({ limit });
    const seconds = Math.max(1, outcome.ttlInSeconds);
    reply.header('retry-after', String(seconds));
    throw new HttpError('RATE_LIMITED', `too many requests ${limit === 'address' ? 'from this address' : 'with this token'}; retry in ${seconds} s`);
  };

  const admit: Admit = async (request, reply) => {
    const identified = identify(request);
    if (isBrokerDeviceAuth(request, identified)) return apply('device_auth', request, reply);
    await apply('address', request, reply);
    if (identified) await apply('token', request, reply);
  };
  app.addHook('onRequest', admit);
  // onRequest counted the batch once, before its body was read; each further item counts here.
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== DEVICE_AUTH_BATCH_ROUTE || !isBrokerDeviceAuth(request, identify(request))) return;
    const { items } = request.body as { items: unknown[] };
    for (let i = 1; i < items.length; i++) await apply('device_auth', request, reply);
  });
  return admit;
}
