import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema, regionsResponseSchema } from '../../../schema/api.ts';
import type { AppDeps } from '../app-deps.ts';
import { fromStore } from '../errors.ts';

export const regionRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.get(
    '/api/v1/regions',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary: 'Stored and refused counts per region store, read from the stores themselves',
        response: { 200: regionsResponseSchema, 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema },
      },
    },
    async () => {
      const regions = await fromStore(
        Promise.all(
          [...deps.stores.regions].map(async ([region, store]) => {
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
