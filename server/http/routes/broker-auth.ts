import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceAuthRequestSchema, deviceAuthResponseSchema, deviceCertificateRequestSchema, errorBodySchema } from '../../../schema/api.ts';
import { canVerify, decoyVerify, verifySecret } from '../../devices/credentials.ts';
import { NO_SLOT, SecretChecks } from '../../devices/secret-checks.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { fromStore, HttpError } from '../errors.ts';

/**
 * The broker asks whether a device may log in. Nothing is cached here (the broker keeps its own
 * short cache of verified pairs, dropped on revocation), and the entry is read from the directory
 * store, not this process's directory cache: an erasure made by any server process sharing the
 * store is refused at once. An erased device is refused even if its directory entry were intact.
 * An unknown device costs the same scrypt as a known one; scrypt runs are bounded (SecretChecks).
 */
export const brokerAuthRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const secretChecks = new SecretChecks(deps.config.brokerAuth);
  const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema };

  async function liveEntry(deviceId: string): Promise<DirectoryEntry | null> {
    const entry = await fromStore(deps.directory.directory.lookup(deviceId));
    if (!entry) return null;
    return (await fromStore(deps.privacy.tombstones.has(entry.region, entry.deviceId))) ? null : entry;
  }

  app.post('/api/v1/broker/device-auth', {
    config: { access: { roles: ['broker'] } },
    schema: {
      summary: 'Broker only: verify a device id and secret',
      body: deviceAuthRequestSchema,
      response: { 200: deviceAuthResponseSchema, ...errors },
    },
  }, async (request) => {
    const { deviceId, secret } = request.body;
    const checked = await secretChecks.run(async () => {
      const entry = await liveEntry(deviceId);
      const valid = entry ? await verifySecret(secret, entry.secretHash) : await decoyVerify(secret);
      return valid ? entry : null;
    });
    if (checked === NO_SLOT) {
      deps.metrics.brokerAuthBusy.inc();
      throw new HttpError('AUTH_BUSY', 'too many device checks at once; retry shortly');
    }
    if (!checked) throw new HttpError('DEVICE_AUTH_FAILED', 'unknown device or wrong secret');
    return { deviceId: checked.deviceId, region: checked.region };
  });

  app.post('/api/v1/broker/device-certificate', {
    config: { access: { roles: ['broker'] } },
    schema: {
      summary: 'Broker only: a device logged in with a client certificate from the broker\'s CA; does it exist, unrevoked?',
      body: deviceCertificateRequestSchema,
      response: { 200: deviceAuthResponseSchema, ...errors },
    },
  }, async (request) => {
    const entry = await liveEntry(request.body.deviceId);
    if (!entry || !canVerify(entry.secretHash)) throw new HttpError('DEVICE_AUTH_FAILED', 'unknown or revoked device');
    return { deviceId: entry.deviceId, region: entry.region };
  });
};
