import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import {
  attachDeviceRequestSchema,
  attachDeviceResponseSchema,
  createOwnerRequestSchema,
  createOwnersBatchRequestSchema,
  createOwnersBatchResponseSchema,
  erasureResponseSchema,
  OWNER_BATCH_MAX,
  OWNER_EXPORT_FORMAT,
  ownerExportSchema,
  ownerIdParamsSchema,
  ownerListQuerySchema,
  ownerListResponseSchema,
  ownerSchema,
} from '../../../schema/privacy.ts';
import { OWNER_ROLES } from '../../dashboard/scope.ts';
import { exportOwner } from '../../privacy/owner-export.ts';
import { eraseOwner } from '../../privacy/erasure.ts';
import { attachDevice, createOwner, createOwners, listOwners, readOwner, type OwnerBatchRefusal } from '../../privacy/owners.ts';
import { regionOfOwner } from '../../privacy/pseudonym.ts';
import type { AppDeps } from '../app-deps.ts';
import { assertRegion, principalOf } from '../auth.ts';
import { fromStore, HttpError } from '../errors.ts';

const EXPORT_BUFFER_BYTES = 64 * 1024;
const staff = { access: { roles: OWNER_ROLES } } as const;
/** A refused batch names the entry at fault; the codes are the single routes' ones. */
function batchRefusal({ reason, index, deviceId }: OwnerBatchRefusal): HttpError {
  const at = `owners[${index}]`;
  if (reason === 'no_device') return new HttpError('NOT_FOUND', `${at}: no device ${deviceId}`);
  if (reason === 'other_region') return new HttpError('REGION_MISMATCH', `${at}: the home region of device ${deviceId} is not the owner's`);
  return new HttpError('VALIDATION_FAILED', `${at}: device ${deviceId} is listed more than once in the batch`);
}

const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema, 503: errorBodySchema };

/** Owners and their data-subject rights, each served from the owner's home region only. */
export const ownerRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const { privacy } = deps;
  const noOwner = (id: string): HttpError => new HttpError('NOT_FOUND', `no owner ${id}`);

  app.post(
    '/api/v1/owners',
    {
      config: staff,
      schema: {
        summary: 'Create an owner in their home region (name and contact stay there)',
        body: createOwnerRequestSchema,
        response: { 201: ownerSchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      assertRegion(principal, request.body.region);
      if (!deps.stores.regions.has(request.body.region)) throw new HttpError('UNKNOWN_REGION', `region ${request.body.region} is not configured here`);
      return reply.code(201).send(await fromStore(createOwner(privacy, request.body, principal.subject)));
    },
  );

  // `::` is fastify's escaped colon: the path is the literal `/api/v1/owners:batch`, not a parameter.
  app.post(
    '/api/v1/owners::batch',
    {
      config: staff,
      // 1,000 owners with the longest names and contacts the schema admits, in ASCII, are about 800 KB.
      bodyLimit: 2 * 1024 * 1024,
      schema: {
        summary: `Create up to ${OWNER_BATCH_MAX} owners with their devices attached in one call (one transaction per region); refused whole if any device is unknown, of another region or listed twice`,
        body: createOwnersBatchRequestSchema,
        response: { 201: createOwnersBatchResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { owners } = request.body;
      if (owners.length > OWNER_BATCH_MAX)
        throw new HttpError('BATCH_TOO_LARGE', `at most ${OWNER_BATCH_MAX} owners per batch; this one lists ${owners.length}`);
      const principal = principalOf(request);
      for (const region of new Set(owners.map((o) => o.region))) {
        assertRegion(principal, region);
        if (!deps.stores.regions.has(region)) throw new HttpError('UNKNOWN_REGION', `region ${region} is not configured here`);
      }
      const outcome = await fromStore(createOwners(privacy, owners, principal.subject));
      if ('refused' in outcome) throw batchRefusal(outcome.refused);
      return reply.code(201).send(outcome);
    },
  );

  app.get(
    '/api/v1/owners',
    {
      config: staff,
      schema: {
        summary: "One region's owners with their devices, a page at a time (an audited read of personal data)",
        querystring: ownerListQuerySchema,
        response: { 200: ownerListResponseSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const { region, limit, after } = request.query;
      assertRegion(principal, region);
      if (!deps.stores.regions.has(region)) throw new HttpError('UNKNOWN_REGION', `region ${region} is not configured here`);
      if (after !== undefined && regionOfOwner(after) !== region) throw new HttpError('VALIDATION_FAILED', 'after names an owner of another region');
      const page = await fromStore(listOwners(privacy, region, after === undefined ? { limit } : { limit, afterId: after }, principal.subject));
      return { region, ...page };
    },
  );

  app.get(
    '/api/v1/owners/:id',
    {
      config: staff,
      schema: {
        summary: 'One owner and their devices (an audited read of personal data)',
        params: ownerIdParamsSchema,
        response: { 200: ownerSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertRegion(principal, regionOfOwner(request.params.id));
      const owner = await fromStore(readOwner(privacy, request.params.id, principal.subject));
      if (!owner) throw noOwner(request.params.id);
      return owner;
    },
  );

  app.post(
    '/api/v1/owners/:id/devices',
    {
      config: staff,
      schema: {
        summary: 'Attach a device of the same region to its owner',
        params: ownerIdParamsSchema,
        body: attachDeviceRequestSchema,
        response: { 200: attachDeviceResponseSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertRegion(principal, regionOfOwner(request.params.id));
      const outcome = await fromStore(attachDevice(privacy, request.params.id, request.body.deviceId, principal.subject));
      if (outcome === 'no_owner') throw noOwner(request.params.id);
      if (outcome === 'no_device') throw new HttpError('NOT_FOUND', `no device ${request.body.deviceId}`);
      if (outcome === 'other_region') throw new HttpError('REGION_MISMATCH', "the device's home region is not the owner's");
      return { ownerId: request.params.id, deviceId: request.body.deviceId };
    },
  );

  app.get(
    '/api/v1/owners/:id/export',
    {
      config: staff,
      schema: {
        summary: `Everything held about an owner, as one ${OWNER_EXPORT_FORMAT} document, streamed as it is read`,
        params: ownerIdParamsSchema,
        response: { 200: ownerExportSchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      assertRegion(principal, regionOfOwner(request.params.id));
      const document = await fromStore(exportOwner(privacy, request.params.id, principal.subject));
      if (!document) throw noOwner(request.params.id);
      // Streamed with backpressure: the next page is read only when the client took the last one, so
      // the export's size is bounded by the connection, not by this process's memory. A store failure
      // past this point cuts the response short (the JSON stays unterminated), it cannot become a 503.
      const body = Readable.from(document, { objectMode: false, highWaterMark: EXPORT_BUFFER_BYTES });
      body.on('error', (err) => request.log.warn({ err }, 'owner export stream failed'));
      // The 200 schema documents the document; a stream is sent as it is, past the serializer.
      const raw: FastifyReply = reply;
      return raw.type('application/json; charset=utf-8').send(body);
    },
  );

  app.delete(
    '/api/v1/owners/:id',
    {
      config: staff,
      schema: {
        summary: "Erase an owner's personal data in their region, leaving tombstones for their devices",
        params: ownerIdParamsSchema,
        response: { 200: erasureResponseSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      assertRegion(principal, regionOfOwner(request.params.id));
      const result = await fromStore(eraseOwner(privacy, request.params.id, principal.subject));
      if (!result) throw noOwner(request.params.id);
      return result;
    },
  );
};
