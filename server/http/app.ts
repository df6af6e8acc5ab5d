import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { AppDeps } from './app-deps.ts';
import { installAuth } from './auth.ts';
import { frameworkErrorOptions, installErrorHandling } from './error-handler.ts';
import { installRateLimits, type Admit } from './rate-limit.ts';
import { auditRoutes } from './routes/audit.ts';
import { brokerAuthRoutes } from './routes/broker-auth.ts';
import { complianceRoutes } from './routes/compliance.ts';
import { transferRoutes } from './routes/transfers.ts';
import { ownerRoutes } from './routes/owners.ts';
import { commandRoutes } from './routes/commands.ts';
import { dashboardStatic } from '../dashboard/static-route.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { deviceRoutes } from './routes/devices.ts';
import { registerDocs } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { fleetControlRoutes } from './routes/fleet-control.ts';
import { quarantineRoutes } from './routes/quarantine.ts';
import { regionRoutes } from './routes/regions.ts';
import { streamRoutes } from './routes/stream.ts';

/** The HTTP app, ready for `listen` or `inject`. */
export async function buildApp(deps: AppDeps, logger: Logger): Promise<FastifyInstance> {
  // Errors raised before routing are admitted (rate-limited) like any request, once the limits exist.
  let admit: Admit = async () => undefined;
  const app = Fastify({
    // Typed as fastify's base logger so plugins written against plain FastifyInstance fit.
    loggerInstance: logger as FastifyBaseLogger,
    // Request lines would be mostly broker auth calls; the metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    ...frameworkErrorOptions({
      admit: (request, reply) => admit(request, reply),
      clientError: (statusCode) => deps.metrics.httpClientErrors.inc({ status: String(statusCode) }),
    }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  // The first use of each token per process start is its login in the directory's audit log.
  const identify = installAuth(app, deps.grants, (principal) => {
    if (principal.role === 'broker') return;
    deps.privacy.audit.directory.record({
      actor: principal.subject,
      action: 'token.login',
      target: principal.subject,
      detail: { role: principal.role, region: principal.region ?? null },
    });
  });
  admit = await installRateLimits(app, deps.config.http.rateLimit, identify, deps.metrics);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.metrics.httpSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  await registerDocs(app);
  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(deviceRoutes, deps);
  await app.register(regionRoutes, deps);
  await app.register(quarantineRoutes, deps);
  await app.register(brokerAuthRoutes, deps);
  await app.register(ownerRoutes, deps);
  await app.register(auditRoutes, deps);
  await app.register(complianceRoutes, deps);
  await app.register(transferRoutes, deps);
  await app.register(commandRoutes, deps);
  await app.register(fleetRoutes, deps);
  await app.register(fleetControlRoutes, deps);
  await app.register(streamRoutes, deps);
  await app.register(dashboardRoutes, deps);
  await app.register(dashboardStatic);
  await app.ready();
  return app;
}
