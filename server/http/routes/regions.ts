import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema, regionsResponseSchema } from '../../../schema/api.ts';
import type { AppDeps } from '../app-deps.ts';
import { principalOf } from '../auth.ts';
import { fromStore } from '../errors.ts';

export const regionRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.get(
    '/api/v1/regions',
    {
      // Counts only: an operator (e.g. the token the global directory of regional planes holds for
      // this plane) reads those of its own region.
      config: { access: { roles: ['admin', 'operator'] } },
      schema: {
        summary: "Stored and refused counts per region store, read from the stores themselves; an operator sees its region's only",
        response: { 200: regionsResponseSchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request) => {
      const own = principalOf(request).region;
      const regions = await fromStore(
        Promise.all(
          [...deps.stores.regions]
            .filter(([region]) => own === undefined || region === own)
            .map(async ([region, store]) => {
              const [counts, facts] = await Promise.all([store.counts(), store.facts()]);
              return { region, ...counts, eventsByKind: facts.eventsByKind, refusedByReason: facts.refusedByReason };
            }),
        ),
      );
      const unrouted = await fromStore(deps.stores.directory.countRefusals());
      return { regions, unrouted: { refused: unrouted } };
    },
  );
};
