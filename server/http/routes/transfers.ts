import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBodySchema } from '../../../schema/api.ts';
import { transferParamsSchema, transferRequestSchema, transferResponseSchema } from '../../../schema/transfers.ts';
import { runTransfer, TransferDeliveryFailed, TransferRefused } from '../../privacy/transfers.ts';
import type { AppDeps } from '../app-deps.ts';
import { principalOf } from '../auth.ts';
import { fromStore, HttpError } from '../errors.ts';

const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 502: errorBodySchema, 503: errorBodySchema };

/** Named flows out of a region's plane: only what a configured transfer rule allows, aggregates only. */
export const transferRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  app.post(
    '/api/v1/transfers/:rule',
    {
      config: { access: { roles: ['admin'] } },
      schema: {
        summary:
          "One batch of the named transfer rule's aggregates from `from`: POSTed to the rule's destination when it names one, else answered (an export); no rule, another source region or a category the rule does not allow is 403 TRANSFER_NOT_ALLOWED",
        params: transferParamsSchema,
        body: transferRequestSchema,
        response: { 200: transferResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { from } = request.body;
      if (!deps.stores.regions.has(from)) throw new HttpError('UNKNOWN_REGION', `this server holds no region ${from}`);
      try {
        return await runTransfer(
          { transfers: deps.config.transfers, stores: deps.stores, audit: deps.privacy.audit },
          principalOf(request).subject,
          request.params.rule,
          request.body,
        );
      } catch (err) {
        if (err instanceof TransferRefused) throw new HttpError('TRANSFER_NOT_ALLOWED', err.message);
        if (err instanceof TransferDeliveryFailed) throw new HttpError('TRANSFER_DESTINATION_FAILED', err.message, { cause: err });
        return fromStore(Promise.reject(err));
      }
    },
  );
};
