import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceAuthRequestSchema, deviceAuthResponseSchema, errorBodySchema } from '../../../schema/api.ts';
import { decoyVerify, verifySecret } from '../../devices/credentials.ts';
import type { AppDeps } from '../app-deps.ts';
import { fromStore, HttpError } from '../errors.ts';

/**
 * The broker asks whether a device's secret is valid. Nothing is cached here (the broker keeps its
 * own short cache of verified pairs); an unknown device costs the same scrypt as a known one.
 */
export const brokerAuthRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.post('/api/v1/broker/device-auth', {
    config: { access: { roles: ['broker'] } },
    schema: {
      summary: 'Broker only: verify a device id and secret',
      body: deviceAuthRequestSchema,
      response: { 200: deviceAuthResponseSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema },
    },
  }, async (request) => {
    const { deviceId, secret } = request.body;
    const entry = await fromStore(deps.directory.lookup(deviceId));
    const valid = entry ? await verifySecret(secret, entry.secretHash) : await decoyVerify(secret);
    if (!entry || !valid) throw new HttpError('DEVICE_AUTH_FAILED', 'unknown device or wrong secret');
    return { deviceId: entry.deviceId, region: entry.region };
  });
};
