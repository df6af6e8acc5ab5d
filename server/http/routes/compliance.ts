import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { complianceReportSchema, retentionSweepResponseSchema } from '../../../schema/privacy.ts';
import { complianceReport } from '../../privacy/compliance.ts';
import { sweepRetention } from '../../privacy/retention-sweeper.ts';
import type { AppDeps } from '../app-deps.ts';
import { principalOf, visibleRegions } from '../auth.ts';
import { fromStore } from '../errors.ts';

const errors = { 401: errorBodySchema, 403: errorBodySchema, 503: errorBodySchema };

export const complianceRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.get(
    '/api/v1/compliance',
    {
      config: { access: { roles: ['admin', 'auditor', 'operator'] } },
      schema: { summary: "The compliance report per region (an operator's own region only)", response: { 200: complianceReportSchema, ...errors } },
    },
    async (request) => {
      const principal = principalOf(request);
      const regions = visibleRegions(principal, [...deps.stores.regions.keys()]);
      return fromStore(complianceReport({ ...deps.privacy, transferRules: deps.config.transfers.rules }, regions, principal.region === undefined));
    },
  );

  app.post(
    '/api/v1/retention/sweep',
    {
      config: { access: { roles: ['admin'] } },
      schema: { summary: 'Run the retention sweeper now in every region', response: { 200: retentionSweepResponseSchema, ...errors } },
    },
    async (request) => ({ regions: await fromStore(sweepRetention(deps.privacy, principalOf(request).subject)) }),
  );
};
