import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import { startComponents, type Component } from '../components.ts';
import { LOG_REDACTION } from '../log-redaction.ts';
import { PortInUseError } from '../port-in-use-error.ts';
import type { DirectoryConfig } from './config.ts';
import { buildDirectoryApp } from './directory-app.ts';
import { openHomeStore, type HomeStore } from './home-store.ts';
import { planeClient, type PlaneClient } from './plane-client.ts';

export interface RunningDirectory {
  /** Base URL of its HTTP API, e.g. http://127.0.0.1:8090. */
  url: string;
  close(): Promise<void>;
}

/**
 * The global directory of a deployment of regional planes: device id -> home region, and each
 * plane's endpoints from configuration. Components (server/components.ts): its store, then its HTTP
 * listener; stopped in reverse. It needs no plane to be up to start: a plane is asked only when a
 * request is about its region. Rejects with PortInUseError when the port is taken, having closed the store.
 */
export async function startDirectory(config: DirectoryConfig, logger: Logger): Promise<RunningDirectory> {
  // Redacted here whatever logger the caller passed: this line holds every token.
  logger.child({}, { redact: LOG_REDACTION }).debug({ config }, 'directory configuration');
  const planes = new Map<RegionId, PlaneClient>(
    config.planes.map((p) => [p.region, planeClient(p, { timeoutMs: config.planeTimeoutMs, healthTimeoutMs: config.healthTimeoutMs })]),
  );
  let homes: HomeStore;
  let url = '';
  const components: Component[] = [
    {
      name: 'store',
      async start() {
        homes = await openHomeStore({ dataDir: config.dataDir, storeUrl: config.storeUrl }, logger.child({ component: 'store' }));
        logger.info({ store: homes.description }, 'directory store open');
        return () => homes.close();
      },
    },
    {
      name: 'http',
      async start() {
        const app = await buildDirectoryApp(
          config,
          { planes, homes, healthTimeoutMs: config.healthTimeoutMs, logger: logger.child({ component: 'provision' }) },
          logger.child({ component: 'http' }),
        );
        try {
          url = await app.listen({ host: config.http.host, port: config.http.port });
        } catch (err) {
          await app.close();
          if ((err as { code?: unknown }).code === 'EADDRINUSE') throw new PortInUseError(config.http.port, config.http.host, { cause: err });
          throw err;
        }
        return () => app.close();
      },
    },
  ];
  const started = await startComponents(components, logger);
  logger.info({ url, planes: [...planes.keys()] }, 'directory listening');
  return { url, close: () => started.stop() };
}
