import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  CONSENT_BATCH_MAX,
  consentBatchRequestSchema,
  consentBatchResponseSchema,
  deviceEventsQuerySchema,
  deviceEventsResponseSchema,
  deviceIdParamsSchema,
  deviceListResponseSchema,
  consentChangeQuerySchema,
  deviceSummarySchema,
  errorBodySchema,
  PROVISION_BATCH_MAX,
  provisionBatchRequestSchema,
  provisionBatchResponseSchema,
  provisionCredentialsBatchSchema,
  provisionCredentialsSchema,
  provisionDeviceRequestSchema,
  provisionDeviceResponseSchema,
  provisionQuerySchema,
  type ProvisionCredentials,
  type ProvisionDeviceResponse,
} from '../../../schema/api.ts';
import { z } from 'zod';
import { consentCategoriesSchema, consentRecordSchema, type ConsentRecord } from '../../../schema/consent.ts';
import { deviceStateSchema } from '../../../schema/topics.ts';
import { erasureResponseSchema } from '../../../schema/privacy.ts';
import { toConsentRecord } from '../../consent/publisher.ts';
import { eraseDevice } from '../../privacy/erasure.ts';
import { toStoredEvent } from '../../privacy/owner-export.ts';
import { provisionDevice, provisionDevices } from '../../devices/provision.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import { createDeviceView } from '../device-view.ts';
import type { AppDeps } from '../app-deps.ts';
import { assertRegion, principalOf } from '../auth.ts';
import { fromStore, HttpError } from '../errors.ts';
import { indexesBy } from '../../group-by.ts';

/** Admins act on every region, operators on their own (checked per request with assertRegion). */
const staff = { access: { roles: ['admin', 'operator'] } } as const;
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 503: errorBodySchema };

/** The detail view: the summary plus the consent in force (composed from schema/, not redefined). */
const deviceDetailSchema = deviceSummarySchema.extend({
  consent: consentRecordSchema.nullable(),
  /** Last retained state seen by this server; null before the device ever connected. */
  state: deviceStateSchema.nullable(),
});

const withoutConsent = ({ id, region, secret }: ProvisionDeviceResponse): ProvisionCredentials => ({ id, region, secret });

export const deviceRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const view = createDeviceView(deps);
  const device = (request: FastifyRequest, id: string): Promise<DirectoryEntry> => view.device(principalOf(request), id);

  app.post(
    '/api/v1/devices',
    {
      config: staff,
      schema: {
        summary: 'Provision a device in a home region; the secret is shown only in this answer',
        querystring: provisionQuerySchema,
        body: provisionDeviceRequestSchema,
        response: { 201: z.union([provisionDeviceResponseSchema, provisionCredentialsSchema]), ...errors },
      },
    },
    async (request, reply) => {
      assertRegion(principalOf(request), request.body.region);
      const store = view.store(request.body.region);
      const created = await fromStore(provisionDevice(deps, store, request.body, principalOf(request).subject));
      return reply.code(201).send(request.query.omit === 'consent' ? withoutConsent(created) : created);
    },
  );

  // `::` is fastify's escaped colon: the path is the literal `/api/v1/devices:batch`, not a parameter.
  app.post(
    '/api/v1/devices::batch',
    {
      config: staff,
      // 1,000 entries with their consent choices are about 100 KB.
      bodyLimit: 256 * 1024,
      schema: {
        summary: `Provision up to ${PROVISION_BATCH_MAX} devices in one call (one transaction per region); each secret is shown only in this answer`,
        querystring: provisionQuerySchema,
        body: provisionBatchRequestSchema,
        response: { 201: z.union([provisionBatchResponseSchema, provisionCredentialsBatchSchema]), ...errors },
      },
    },
    async (request, reply) => {
      const { devices } = request.body;
      if (devices.length > PROVISION_BATCH_MAX)
        throw new HttpError('BATCH_TOO_LARGE', `at most ${PROVISION_BATCH_MAX} devices per batch; this one lists ${devices.length}`);
      const principal = principalOf(request);
      for (const region of new Set(devices.map((d) => d.region))) {
        assertRegion(principal, region);
        view.store(region);
      }
      const created = await fromStore(provisionDevices(deps, (region) => view.store(region), devices, principal.subject));
      return reply.code(201).send({ devices: request.query.omit === 'consent' ? created.map(withoutConsent) : created });
    },
  );

  app.get(
    '/api/v1/devices',
    {
      config: staff,
      schema: { summary: 'Every device with its home region', response: { 200: deviceListResponseSchema, ...errors } },
    },
    async (request) => {
      const entries = await view.visible(principalOf(request));
      return { devices: entries.map((e) => ({ id: e.deviceId, region: e.region, createdAt: e.createdAt.toISOString() })) };
    },
  );

  app.get(
    '/api/v1/devices/:id',
    {
      config: staff,
      schema: {
        summary: 'One device, its current consent and its last known connection state',
        params: deviceIdParamsSchema,
        response: { 200: deviceDetailSchema, ...errors },
      },
    },
    async (request) => {
      const entry = await device(request, request.params.id);
      const current = await fromStore(deps.consent.current(entry.deviceId, entry.region));
      return {
        id: entry.deviceId,
        region: entry.region,
        createdAt: entry.createdAt.toISOString(),
        consent: current ? toConsentRecord(current) : null,
        state: deps.deviceStates.get(entry.deviceId)?.state ?? null,
      };
    },
  );

  app.get(
    '/api/v1/devices/:id/events',
    {
      config: staff,
      schema: {
        summary: "A device's stored events, newest first, read from its home-region store only",
        params: deviceIdParamsSchema,
        querystring: deviceEventsQuerySchema,
        response: { 200: deviceEventsResponseSchema, ...errors },
      },
    },
    async (request) => {
      const entry = await device(request, request.params.id);
      const query = request.query.kind ? { kind: request.query.kind, limit: request.query.limit } : { limit: request.query.limit };
      const rows = await view.readEvents(principalOf(request), entry, query);
      return { deviceId: entry.deviceId, region: entry.region, events: rows.map(toStoredEvent) };
    },
  );

  app.put(
    '/api/v1/devices/:id/consent',
    {
      config: staff,
      schema: {
        summary: 'Record a new consent version; it is pushed to the device and enforced by ingest at once',
        params: deviceIdParamsSchema,
        querystring: consentChangeQuerySchema,
        body: consentCategoriesSchema,
        response: { 200: consentRecordSchema, ...errors },
      },
    },
    async (request) => {
      const entry = await device(request, request.params.id);
      view.store(entry.region);
      return fromStore(
        deps.consent.change({
          deviceId: entry.deviceId,
          region: entry.region,
          categories: request.body,
          actor: principalOf(request).subject,
          channel: request.query.channel,
        }),
      );
    },
  );

  // The literal path `/api/v1/devices/consent:batch`; as a static segment it wins over `:id`.
  app.put(
    '/api/v1/devices/consent::batch',
    {
      config: staff,
      // 1,000 entries of an id and four choices are about 120 KB.
      bodyLimit: 256 * 1024,
      schema: {
        summary: `Record a new consent version for up to ${CONSENT_BATCH_MAX} devices (one transaction per region); each is pushed and enforced as the single route's is`,
        querystring: consentChangeQuerySchema,
        body: consentBatchRequestSchema,
        response: { 200: consentBatchResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { devices } = request.body;
      if (devices.length > CONSENT_BATCH_MAX)
        throw new HttpError('BATCH_TOO_LARGE', `at most ${CONSENT_BATCH_MAX} devices per batch; this one lists ${devices.length}`);
      const seen = new Set<string>();
      devices.forEach(({ id }, i) => {
        if (seen.has(id)) throw new HttpError('VALIDATION_FAILED', `devices[${i}]: device ${id} is listed more than once in the batch`);
        seen.add(id);
      });
      // Every device is checked (known, not erased, in the caller's regions) before anything is written.
      const entries = await Promise.all(
        devices.map(({ id }, i) =>
          device(request, id).catch((err: unknown) => {
            throw err instanceof HttpError ? new HttpError(err.code, `devices[${i}]: ${err.message}`) : err;
          }),
        ),
      );
      const byRegion = indexesBy(entries, (entry) => entry.region);
      const actor = principalOf(request).subject;
      const records = new Array<ConsentRecord>(devices.length);
      for (const [region, indexes] of byRegion) {
        view.store(region);
        const changes = indexes.map((i) => ({
          deviceId: entries[i]!.deviceId,
          region,
          categories: devices[i]!.consent,
          actor,
          channel: request.query.channel,
        }));
        const written = await fromStore(deps.consent.changeMany(region, changes));
        written.forEach((record, k) => {
          records[indexes[k]!] = record;
        });
      }
      return { records };
    },
  );

  app.delete(
    '/api/v1/devices/:id',
    {
      config: staff,
      schema: {
        summary: 'Delete a device: its events, consent ledger and quarantine go; a tombstone refuses its late events',
        params: deviceIdParamsSchema,
        response: { 200: erasureResponseSchema, ...errors },
      },
    },
    async (request) => {
      const entry = await device(request, request.params.id);
      return fromStore(eraseDevice(deps.privacy, entry.deviceId, entry.region, principalOf(request).subject));
    },
  );
};
