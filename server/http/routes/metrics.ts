import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppDeps } from '../app-deps.ts';

export const metricsRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const { registry } = deps.metrics;
  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: { summary: 'Prometheus metrics of this server instance', produces: ['text/plain'] },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
