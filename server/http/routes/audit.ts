import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { auditListQuerySchema, auditListResponseSchema, auditVerifyResponseSchema } from '../../../schema/privacy.ts';
import { AUDIT_ROLES } from '../../dashboard/scope.ts';
import { toAuditEntry } from '../../privacy/owner-export.ts';
import type { AppDeps } from '../app-deps.ts';
import { fromStore, HttpError } from '../errors.ts';

const readers = { access: { roles: AUDIT_ROLES } } as const;
const MAX_TARGETS = 50;
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema };

/** The audit logs, for admins and auditors: one chain per region store and one in the directory. */
export const auditRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const { audit } = deps.privacy;

  app.get(
    '/api/v1/audit/verify',
    {
      config: readers,
      schema: {
        summary:
          'Recompute every audit chain: an edited, removed or inserted entry, a chain recomputed without the audit key, or a tail cut off behind its signed checkpoint breaks it',
        response: { 200: auditVerifyResponseSchema, ...errors },
      },
    },
    async () => {
      const logs = [...deps.stores.regions.keys()].map((r) => audit.region(r));
      return { chains: await fromStore(Promise.all([...logs, audit.directory].map((log) => log.verify()))) };
    },
  );

  app.get(
    '/api/v1/audit',
    {
      config: readers,
      schema: {
        summary: "One store's audit entries in order (`region` is a region id or `directory`)",
        querystring: auditListQuerySchema,
        response: { 200: auditListResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { region, afterSeq, limit, target, newest } = request.query;
      const log = audit.named(region);
      if (!log) throw new HttpError('UNKNOWN_REGION', `no audit log ${region}`);
      const targets =
        target === undefined
          ? undefined
          : target
              .split(',')
              .map((t) => t.trim())
              .filter((t) => t !== '');
      if (targets && targets.length > MAX_TARGETS) throw new HttpError('VALIDATION_FAILED', `at most ${MAX_TARGETS} targets`);
      const [rows, head] = await fromStore(
        Promise.all([log.page(afterSeq, limit, { newest: newest === 'true', ...(targets === undefined ? {} : { targets }) }), log.head()]),
      );
      return { store: log.name, entries: rows.map(toAuditEntry), head };
    },
  );
};
