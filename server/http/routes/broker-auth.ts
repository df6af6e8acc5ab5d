import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  deviceAuthBatchRequestSchema,
  deviceAuthBatchResponseSchema,
  deviceAuthRequestSchema,
  deviceAuthResponseSchema,
  deviceCertificateRequestSchema,
  errorBodySchema,
  type DeviceAuthBatchResult,
} from '../../../schema/api.ts';
import { SecretHasher } from '../../devices/credentials.ts';
import { NO_SLOT, SecretChecks } from '../../devices/secret-checks.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { DEVICE_AUTH_BATCH_ROUTE, DEVICE_AUTH_ROUTE } from '../rate-limit.ts';
import { fromStore, HttpError } from '../errors.ts';

/**
 * The broker asks whether a device may log in. Nothing is cached here (the broker keeps its own
 * short cache of verified pairs, dropped on revocation), and the entry is read from the directory
 * store, not this process's directory cache: an erasure made by any server process sharing the
 * store is refused at once. An erased device is refused even if its directory entry were intact.
 * An unknown device costs the same HMAC as a known one. Checks run bounded (SecretChecks); a
 * device still under a legacy scrypt hash takes a slot of the tighter slow-hash bound as well, and
 * its good login rewrites the entry to the keyed hash.
 *
 * The batch route checks the logins a broker had waiting at one moment in one request: every item
 * exactly as the single route checks it (its own check slot, the decoy hash for an unknown device),
 * answered in request order, an unknown device and a wrong secret alike `invalid`; the directory is
 * read once for all its ids (still the store, not the cache).
 */
export const brokerAuthRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const { brokerAuth } = deps.config;
  const secretChecks = new SecretChecks(brokerAuth);
  const slowChecks = new SecretChecks({ maxConcurrent: brokerAuth.scryptMaxConcurrent, maxQueued: brokerAuth.scryptMaxQueued });
  const hasher = deps.deviceSecrets;
  const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema };

  async function liveEntry(deviceId: string): Promise<DirectoryEntry | null> {
    return unlessErased(await fromStore(deps.directory.directory.lookup(deviceId)));
  }

  async function unlessErased(entry: DirectoryEntry | null | undefined): Promise<DirectoryEntry | null> {
    if (!entry) return null;
    return (await fromStore(deps.privacy.tombstones.has(entry.region, entry.deviceId))) ? null : entry;
  }

  /** `stored` is the directory's entry when the caller already read it (a batch reads all its ids at once). */
  async function verify(deviceId: string, secret: string, stored?: DirectoryEntry | null): Promise<DirectoryEntry | null | typeof NO_SLOT> {
    const entry = stored === undefined ? await liveEntry(deviceId) : await unlessErased(stored);
    if (!entry) {
      hasher.decoy(deviceId, secret);
      return null;
    }
    const check = () => hasher.verify(deviceId, secret, entry.secretHash);
    const verdict = SecretHasher.isLegacy(entry.secretHash) ? await slowChecks.run(check) : await check();
    if (verdict === NO_SLOT) return NO_SLOT;
    if (!verdict.valid) return null;
    if (verdict.upgraded !== undefined) await upgrade(entry, verdict.upgraded);
    return entry;
  }

  // The login stands whether or not the rewrite lands; a failed one is tried again at the next login.
  async function upgrade(entry: DirectoryEntry, to: string): Promise<void> {
    try {
      if (await deps.directory.directory.replaceSecretHash(entry.deviceId, entry.secretHash, to)) {
        deps.directory.forget(entry.deviceId);
        app.log.info({ deviceId: entry.deviceId }, 'device secret hash rewritten from scrypt to the keyed hash');
      }
    } catch (err) {
      app.log.warn({ err, deviceId: entry.deviceId }, 'device secret hash not rewritten; kept as scrypt until the next login');
    }
  }

  app.post(
    DEVICE_AUTH_ROUTE,
    {
      config: { access: { roles: ['broker'] } },
      schema: {
        summary: 'Broker only: verify a device id and secret',
        body: deviceAuthRequestSchema,
        response: { 200: deviceAuthResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { deviceId, secret } = request.body;
      const checked = await secretChecks.run(() => verify(deviceId, secret));
      if (checked === NO_SLOT) {
        deps.metrics.brokerAuthBusy.inc();
        throw new HttpError('AUTH_BUSY', 'too many device checks at once; retry shortly');
      }
      if (!checked) throw new HttpError('DEVICE_AUTH_FAILED', 'unknown device or wrong secret');
      return { deviceId: checked.deviceId, region: checked.region };
    },
  );

  // `::` is fastify's escaped colon: the path is the literal `/api/v1/broker/device-auth:batch`.
  app.post(
    DEVICE_AUTH_BATCH_ROUTE,
    {
      config: { access: { roles: ['broker'] } },
      schema: {
        summary: 'Broker only: verify the device ids and secrets of several logins, one answer per item in request order',
        body: deviceAuthBatchRequestSchema,
        response: { 200: deviceAuthBatchResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { items } = request.body;
      // One directory read for the whole batch: per item it cost more than everything else together.
      const entries = await fromStore(deps.directory.directory.lookupMany(items.map((item) => item.deviceId)));
      const results = await Promise.all(
        items.map(async ({ deviceId, secret }): Promise<DeviceAuthBatchResult> => {
          const checked = await secretChecks.run(() => verify(deviceId, secret, entries.get(deviceId) ?? null));
          if (checked === NO_SLOT) {
            deps.metrics.brokerAuthBusy.inc();
            return { outcome: 'busy' };
          }
          return checked ? { outcome: 'valid', deviceId: checked.deviceId, region: checked.region } : { outcome: 'invalid' };
        }),
      );
      return { results };
    },
  );

  app.post(
    '/api/v1/broker/device-certificate',
    {
      config: { access: { roles: ['broker'] } },
      schema: {
        summary: "Broker only: a device logged in with a client certificate from the broker's CA; does it exist, unrevoked?",
        body: deviceCertificateRequestSchema,
        response: { 200: deviceAuthResponseSchema, ...errors },
      },
    },
    async (request) => {
      const entry = await liveEntry(request.body.deviceId);
      if (!entry || !hasher.canVerify(entry.secretHash)) throw new HttpError('DEVICE_AUTH_FAILED', 'unknown or revoked device');
      return { deviceId: entry.deviceId, region: entry.region };
    },
  );
};
