import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { EVENT_KINDS } from '../../../schema/events.ts';
import { regionPanelsResponseSchema, sessionResponseSchema } from '../../dashboard/dashboard-api.ts';
import { DASHBOARD_ROLES, mayChangeConsent, mayManageOwners, mayReadAudit, mayReadBodies, mayReadQuarantine } from '../../dashboard/scope.ts';
import type { AppDeps } from '../app-deps.ts';
import { principalOf, visibleRegions } from '../auth.ts';
import { fromStore } from '../errors.ts';

const errors = { 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema };

/** What the page needs besides the fleet: who is signed in, and the per-region panels. */
export const dashboardRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const access = { access: { roles: DASHBOARD_ROLES } };

  app.get(
    '/api/v1/dashboard/session',
    {
      config: access,
      schema: {
        summary: "The signed-in token's role, the regions it may see and what the page may offer it",
        response: { 200: sessionResponseSchema, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return {
        role: principal.role,
        subject: principal.subject,
        regions: visibleRegions(principal, deps.config.regions),
        bodies: mayReadBodies(principal),
        canChangeConsent: mayChangeConsent(principal),
        canManageOwners: mayManageOwners(principal),
        canReadAudit: mayReadAudit(principal),
        canReadQuarantine: mayReadQuarantine(principal),
        kinds: [...EVENT_KINDS],
        mqttUrl: deps.advertised?.mqttUrl ?? deps.config.dashboard.mqttUrl ?? null,
        simulatedSpeed: deps.config.dashboard.simulatedSpeed ?? null,
        deploymentUrl: deps.config.globalDirectory?.url ?? null,
      };
    },
  );

  app.get(
    '/api/v1/dashboard/regions',
    {
      config: access,
      schema: {
        summary: 'Per visible region: store totals, stored by kind and refused by reason since start, residency violations, events per second',
        response: { 200: regionPanelsResponseSchema, ...errors },
      },
    },
    async (request) => {
      const now = Date.now();
      const regions = visibleRegions(principalOf(request), deps.config.regions).filter((r) => deps.stores.regions.has(r));
      const panels = await fromStore(
        Promise.all(
          regions.map(async (region) => {
            const totals = await deps.stores.regions.get(region)!.counts();
            const tally = deps.liveFeed.tally(region);
            return {
              region,
              ...totals,
              storedByKind: { ...tally.storedByKind },
              refusedByReason: { ...tally.refusedByReason },
              residencyViolations: tally.residencyViolations,
              perSecond: tally.rate.samples(now),
              since: deps.liveFeed.since.toISOString(),
            };
          }),
        ),
      );
      return { regions: panels };
    },
  );
};
