import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RegionId } from '../schema/regions.ts';
import { ensureOwnerOnlyDir, replaceOwnerOnlyFile } from '../server/owner-only-files.ts';
import { startChildCommand, type ChildCommand, type ChildCommandOptions } from './child-command.ts';
import type { LauncherConfig } from './config.ts';

/**
 * `brewtel start --planes`: one plane per region (its broker, its server, its store) as a process
 * of its own, and the global directory as another, on this machine. A plane is `brewtel start` for
 * its one region with no fleet, given its settings as a config file; nothing of one region's plane
 * runs in another's process. Ports are decided here before anything starts, since every plane's
 * broker must know the directory and the directory every plane.
 */
export interface RunningPlane {
  region: RegionId;
  httpUrl: string;
  mqttUrl: string;
}

export interface RunningPlanes {
  planes: RunningPlane[];
  directoryUrl: string;
  adminToken: string;
  /** Stops the directory and every plane, planes in parallel; resolves once all have exited. */
  stop(): Promise<void>;
}

export interface PlaneLayout {
  region: RegionId;
  /** The address it listens on (one host for all on this machine; a host of its own in a test network). */
  host: string;
  httpPort: number;
  mqttPort: number;
}

/** A free port on `host`, from the system (port 0), closed again at once for the child to take. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The directory on --http-port, plane i on --http-port + 1 + i and --mqtt-port + i; a port given
 * as 0 gives every listener a free port of its own instead.
 */
export async function planeLayout(config: LauncherConfig): Promise<{ directoryPort: number; planes: PlaneLayout[] }> {
  const pick = async (base: number, offset: number): Promise<number> => (base === 0 ? freePort(config.host) : base + offset);
  const planes: PlaneLayout[] = [];
  for (const [i, region] of config.regions.entries()) {
    planes.push({ region, host: config.host, httpPort: await pick(config.httpPort, 1 + i), mqttPort: await pick(config.mqttPort, i) });
  }
  return { directoryPort: await pick(config.httpPort, 0), planes };
}

const urlHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);

/** The plane's own config file: the user's settings for its one region, no fleet, no WebSocket. */
function planeConfig(config: LauncherConfig, plane: PlaneLayout, dataDir: string): Record<string, unknown> {
  const store = config.stores[plane.region];
  return {
    regions: [plane.region],
    machines: 0,
    httpPort: plane.httpPort,
    mqttPort: plane.mqttPort,
    wsPort: null,
    host: plane.host,
    dataDir,
    stores: store === undefined ? {} : { [plane.region]: store },
    logLevel: config.logLevel,
    speed: config.speed,
    broker: config.broker,
    server: config.server,
  };
}

/**
 * Starts one plane: its settings written to `<root>/<region>.config.json` (0600: it may hold a
 * store URL with a password), its data under `<root>/<region>/`. `env` carries the admin token.
 */
export async function startPlane(
  config: LauncherConfig,
  plane: PlaneLayout,
  root: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  options: ChildCommandOptions = {},
): Promise<ChildCommand> {
  ensureOwnerOnlyDir(root);
  const file = join(root, `${plane.region}.config.json`);
  await replaceOwnerOnlyFile(file, `${JSON.stringify(planeConfig(config, plane, join(root, plane.region)), null, 2)}\n`);
  return startChildCommand(`plane ${plane.region}`, ['start', '--config', file], env, logger, options);
}

export async function startPlanes(config: LauncherConfig, env: NodeJS.ProcessEnv, logger: Logger): Promise<RunningPlanes> {
  const adminToken = config.adminToken ?? randomBytes(24).toString('base64url');
  const root = join(config.dataDir, 'planes');
  const layout = await planeLayout(config);
  // The admin token goes by environment (it beats a config file), never on a command line.
  const childEnv = { ...env, BREWTEL_ADMIN_TOKEN: adminToken, BREWTEL_TOKENS: '' };
  const children: ChildCommand[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => child.stop()));
  };
  try {
    for (const plane of layout.planes) children.push(await startPlane(config, plane, root, childEnv, logger));
    const ready = await Promise.all(children.map((child) => child.ready));
    const planes = layout.planes.map((plane, i) => ({ region: plane.region, httpUrl: ready[i]!.httpUrl, mqttUrl: ready[i]!.mqttUrl ?? '' }));
    const directoryUrl = `http://${urlHost(config.host)}:${layout.directoryPort}`;
    return { planes, directoryUrl, adminToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
