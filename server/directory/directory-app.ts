import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { DEPLOYMENT_PAGE } from '../dashboard/pages.ts';
import { dashboardStatic } from '../dashboard/static-route.ts';
import { installAuth, type TokenGrant } from '../http/auth.ts';
import { frameworkErrorOptions, installErrorHandling } from '../http/error-handler.ts';
import { installRateLimits, type Admit } from '../http/rate-limit.ts';
import type { DirectoryConfig } from './config.ts';
import { directoryRoutes, type DirectoryRouteDeps } from './routes.ts';

/**
 * The directory's tokens in the server's roles, so the server's auth hook (deny by default, timing-safe
 * comparison) serves it unchanged: the lookup token is a `broker` (it reads one device's home and
 * nothing else), each plane's token an `operator` of that plane's region.
 */
export function directoryGrants(config: Pick<DirectoryConfig, 'adminToken' | 'lookupToken' | 'planes'>): TokenGrant[] {
  return [
    { token: config.adminToken, role: 'admin', subject: 'admin' },
    { token: config.lookupToken, role: 'broker', subject: 'lookup' },
    ...config.planes.map((p): TokenGrant => ({ token: p.token, role: 'operator', region: p.region, subject: `plane-${p.region}` })),
  ];
}

/** The directory's HTTP app, with the server's one error shape and auth, ready for `listen`. */
export async function buildDirectoryApp(config: DirectoryConfig, deps: DirectoryRouteDeps, logger: Logger): Promise<FastifyInstance> {
  // Errors raised before routing are admitted (rate-limited) like any request, once the limits exist.
  let admit: Admit = async () => undefined;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Request lines would carry device ids of every region; the directory logs counts per region instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    ...frameworkErrorOptions({ admit: (request, reply) => admit(request, reply), clientError: () => undefined }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  const identify = installAuth(app, directoryGrants(config));
  const rateLimited = new Counter({
    name: 'brewtel_directory_http_rate_limited_total',
    help: 'Directory requests answered 429 RATE_LIMITED, by the limit they hit.',
    labelNames: ['limit'] as const,
    registers: [],
  });
  admit = await installRateLimits(app, config.http.rateLimit, identify, { httpRateLimited: rateLimited });
  await app.register(directoryRoutes, deps);
  // The deployment overview at `/`: a page of counts over this API; personal data stays at each plane's own dashboard.
  await app.register(dashboardStatic, { page: DEPLOYMENT_PAGE });
  await app.ready();
  return app;
}
