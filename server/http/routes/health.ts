import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { healthResponseSchema } from '../../../schema/api.ts';
import type { AppDeps } from '../app-deps.ts';

async function answers(ping: () => Promise<void>, timeoutMs: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), timeoutMs);
  });
  try {
    return await Promise.race([
      ping().then(
        () => 'up' as const,
        () => 'down' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, deps) => {
  const timeoutMs = deps.config.healthTimeoutMs;
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Per-store state, directory and broker connection; 503 when anything is down',
        response: { 200: healthResponseSchema, 503: healthResponseSchema },
      },
    },
    async (_request, reply) => {
      const [directory, stores] = await Promise.all([
        answers(() => deps.stores.directory.ping(), timeoutMs),
        Promise.all(
          [...deps.stores.regions].map(async ([region, store]) => {
            const state = await answers(() => store.ping(), timeoutMs);
            return { region, state: state === 'up' && deps.storeWritable(region) ? state : ('down' as const) };
          }),
        ),
      ]);
      const mqtt = deps.mqttConnected() ? ('connected' as const) : ('disconnected' as const);
      const ok = directory === 'up' && mqtt === 'connected' && stores.every((s) => s.state === 'up');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', stores, directory, mqtt });
    },
  );
};
