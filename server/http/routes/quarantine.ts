import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { deviceIdSchema } from '../../../schema/ids.ts';
import { regionIdSchema } from '../../../schema/regions.ts';
import { refusalExplanationSchema } from '../../../schema/refusal-explanation.ts';
import { QUARANTINE_ROLES } from '../../dashboard/scope.ts';
import type { QuarantineEntry } from '../../store/types.ts';
import type { AppDeps } from '../app-deps.ts';
import { assertRegion, principalOf } from '../auth.ts';
import { fromStore, HttpError } from '../errors.ts';

const QUARANTINE_PAGE_MAX = 500;

const quarantineParamsSchema = z.object({ region: regionIdSchema });

const quarantineQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(QUARANTINE_PAGE_MAX).default(100),
  /** The `next` of the previous page: only entries older than that one. */
  before: z.coerce.number().int().min(1).optional(),
  /** Only this device's refusals. */
  device: deviceIdSchema.optional(),
});

/**
 * A refused message as the quarantine keeps it. The stored fields are whatever arrived (the message
 * was refused for not fitting the contract), so they are plain strings here, not the contract's types;
 * the payload is there only where operators enabled `ingest.quarantinePayloads`, never for consent refusals.
 */
const quarantineEntrySchema = z.object({
  id: z.int(),
  receivedAt: z.iso.datetime(),
  reason: z.string(),
  deviceId: z.string().nullable(),
  eventId: z.string().nullable(),
  kind: z.string().nullable(),
  /** The message as received, base64 (it may not even be text). */
  payloadBase64: z.string().nullable(),
  /**
   * Why ingest refused it: the schema paths that failed and what was wrong in fixed words, and the
   * field names the message carried; never a value. Null for rows from before explanations.
   */
  explanation: refusalExplanationSchema.nullable(),
});

const quarantinePageSchema = z.object({
  region: regionIdSchema,
  entries: z.array(quarantineEntrySchema),
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: z.int().nullable(),
});

function toEntry(row: QuarantineEntry): z.infer<typeof quarantineEntrySchema> {
  return {
    id: row.id,
    receivedAt: row.receivedAt.toISOString(),
    reason: row.reason,
    deviceId: row.deviceId,
    eventId: row.eventId,
    kind: row.kind,
    payloadBase64: row.payload === null ? null : row.payload.toString('base64'),
    explanation: row.explanation,
  };
}

/** The quarantine of one region, newest first, for admins and that region's operators. */
export const quarantineRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.get(
    '/api/v1/regions/:region/quarantine',
    {
      config: { access: { roles: QUARANTINE_ROLES } },
      schema: {
        summary: "A region's refused messages, newest first, a page at a time, read from that region's store",
        params: quarantineParamsSchema,
        querystring: quarantineQuerySchema,
        response: { 200: quarantinePageSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request) => {
      const { region } = request.params;
      assertRegion(principalOf(request), region);
      const store = deps.stores.regions.get(region);
      if (!store) throw new HttpError('UNKNOWN_REGION', `region ${region} is not configured here`);
      const { limit, before, device } = request.query;
      const rows = await fromStore(
        store.listRefusals({ limit, ...(before === undefined ? {} : { before }), ...(device === undefined ? {} : { deviceId: device }) }),
      );
      // A refused payload may hold exactly the personal data that was refused: reading it is audited.
      await fromStore(
        deps.privacy.audit.region(region).append({
          actor: principalOf(request).subject,
          action: 'quarantine.read',
          target: region,
          detail: { entries: rows.length, payloads: rows.filter((r) => r.payload !== null).length, device: device ?? null },
        }),
      );
      const last = rows.at(-1);
      return { region, entries: rows.map(toEntry), next: rows.length === limit && last ? last.id : null };
    },
  );
};
