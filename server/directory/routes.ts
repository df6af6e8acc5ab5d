import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceIdParamsSchema, errorBodySchema } from '../../schema/api.ts';
import { deploymentComplianceSchema } from '../../schema/deployment.ts';
import {
  deviceHomeSchema,
  directoryHealthSchema,
  directoryProvisionBatchRequestSchema,
  directoryProvisionBatchResponseSchema,
  directoryProvisionRequestSchema,
  directoryProvisionResponseSchema,
  planesResponseSchema,
} from '../../schema/directory.ts';
import type { RegionId } from '../../schema/regions.ts';
import { assertRegion, principalOf } from '../http/auth.ts';
import { fromStore, HttpError } from '../http/errors.ts';
import { deploymentCompliance } from './deployment-compliance.ts';
import type { HomeStore } from './home-store.ts';
import type { PlaneClient } from './plane-client.ts';
import { planesStatus } from './planes-status.ts';
import { provisionBatch, provisionOne, type ProvisionDeps } from './provision.ts';

export interface DirectoryRouteDeps extends ProvisionDeps {
  planes: ReadonlyMap<RegionId, PlaneClient>;
  homes: HomeStore;
  /** A store that does not answer its health ping within this time is reported down. */
  healthTimeoutMs: number;
}

async function answersWithin(ping: () => Promise<void>, timeoutMs: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([
      ping().then(
        () => 'up' as const,
        () => 'down' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Who may do what (roles of server/http/auth.ts, given to the directory's tokens in directory-app.ts):
 * `admin` = the directory's admin token; `broker` = the lookup token; `operator` of a region = that
 * region's plane token. Lookups are open to every holder: brokers and planes ask about devices of other
 * regions (to redirect them home), and firmware given the lookup token asks for its own.
 */
const ADMIN = { access: { roles: ['admin'] } } as const;
const LOOKUP = { access: { roles: ['admin', 'broker', 'operator'] } } as const;
const PLANE = { access: { roles: ['admin', 'operator'] } } as const;
/** Where a provisioning client's consent choices go instead of the directory. */
const CONSENT_ELSEWHERE =
  "consent is set at the device's home plane (PUT {apiUrl}/api/v1/devices/consent:batch with the answer's apiUrl), never through the directory";

const hasConsent = (entry: unknown): boolean => typeof entry === 'object' && entry !== null && 'consent' in entry;

/**
 * Before validation, so an old client sending its owners' choices learns where they go instead of
 * reading a bare unrecognised-key message; the body is not logged.
 */
async function refuseConsent(request: { body: unknown }): Promise<void> {
  const { body } = request;
  const devices = typeof body === 'object' && body !== null && 'devices' in body ? body.devices : undefined;
  const offered = Array.isArray(devices) ? devices.some(hasConsent) : hasConsent(body);
  if (offered) throw new HttpError('CONSENT_AT_HOME_PLANE', CONSENT_ELSEWHERE);
}

const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 502: errorBodySchema, 503: errorBodySchema };

export const directoryRoutes: FastifyPluginAsyncZod<DirectoryRouteDeps> = async (app, deps) => {
  app.post(
    '/api/v1/directory/devices',
    {
      config: ADMIN,
      preValidation: refuseConsent,
      schema: {
        summary:
          "Provision a device in its home region's plane, with nothing consented; the answer carries the plane's endpoints and the one-time secret (consent is set at the plane)",
        body: directoryProvisionRequestSchema,
        response: { 201: directoryProvisionResponseSchema, ...errors },
      },
    },
    async (request, reply) => reply.code(201).send(await provisionOne(deps, request.body)),
  );

  // `::` is fastify's escaped colon: the literal path `/api/v1/directory/devices:batch`.
  app.post(
    '/api/v1/directory/devices::batch',
    {
      config: ADMIN,
      bodyLimit: 256 * 1024,
      preValidation: refuseConsent,
      schema: {
        summary: 'Provision devices of several regions, one call per home plane; 207 lists the regions whose plane failed',
        body: directoryProvisionBatchRequestSchema,
        response: { 201: directoryProvisionBatchResponseSchema, 207: directoryProvisionBatchResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const outcome = await provisionBatch(deps, request.body.devices);
      return reply.code(outcome.statusCode).send(outcome.body);
    },
  );

  app.get(
    '/api/v1/directory/devices/:id',
    {
      config: LOOKUP,
      schema: { summary: "A device's home region and that plane's endpoints", params: deviceIdParamsSchema, response: { 200: deviceHomeSchema, ...errors } },
    },
    async (request) => {
      const home = await fromStore(deps.homes.lookup(request.params.id));
      const plane = home && deps.planes.get(home.region);
      if (!home || !plane) throw new HttpError('DEVICE_NOT_FOUND', 'the directory knows no device of this id');
      const { mqttUrl, mqttsUrl, apiUrl } = plane.plane;
      return { deviceId: home.deviceId, region: home.region, mqttUrl, ...(mqttsUrl ? { mqttsUrl } : {}), apiUrl };
    },
  );

  app.delete(
    '/api/v1/directory/devices/:id',
    {
      config: PLANE,
      schema: {
        summary: "Forget a device after its home plane erased it; a plane may remove its own region's devices only; idempotent",
        params: deviceIdParamsSchema,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const home = await fromStore(deps.homes.lookup(request.params.id));
      if (home) {
        assertRegion(principalOf(request), home.region);
        await fromStore(deps.homes.remove(home.deviceId));
        request.log.info({ region: home.region }, 'device home removed');
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/directory/planes',
    {
      config: ADMIN,
      schema: { summary: "Every plane's endpoints, health and counts (never a row)", response: { 200: planesResponseSchema, ...errors } },
    },
    async () => ({ planes: await planesStatus(deps.planes, await fromStore(deps.homes.countByRegion())) }),
  );

  app.get(
    '/api/v1/directory/compliance',
    {
      config: ADMIN,
      schema: {
        summary:
          "The deployment's compliance report: each plane's counts and invariants from its own report (never a row); a plane that does not answer is listed unavailable",
        response: { 200: deploymentComplianceSchema, ...errors },
      },
    },
    async () => deploymentCompliance(deps.planes),
  );

  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        summary: "The directory's own store; the planes are in /api/v1/directory/planes",
        response: { 200: directoryHealthSchema, 503: directoryHealthSchema },
      },
    },
    async (_request, reply) => {
      const store = await answersWithin(() => deps.homes.ping(), deps.healthTimeoutMs);
      return reply.code(store === 'up' ? 200 : 503).send({ status: store === 'up' ? 'ok' : 'degraded', store });
    },
  );
};
