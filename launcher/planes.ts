import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RegionId } from '../schema/regions.ts';
import { ensureOwnerOnlyDir, replaceOwnerOnlyFile } from '../server/owner-only-files.ts';
import { startChildCommand, type ChildCommand, type ChildCommandOptions } from './child-command.ts';
import type { LauncherConfig } from './config.ts';
import { checkMosquittoBinary } from './mosquitto-process.ts';
import { serviceHost, startMosquittoPlane, type MosquittoPlaneSettings } from './mosquitto-plane.ts';

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
  /** Stops this plane alone, the others and the directory going on: a plane outage. */
  stop(): Promise<void>;
}

export interface RunningPlanes {
  planes: RunningPlane[];
  directoryUrl: string;
  adminToken: string;
  /** What brokers and machines look device homes up with at the directory, and nothing else. */
  lookupToken: string;
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

/** How a plane reaches the directory: its broker looks misdirected devices up with the lookup token. */
export interface PlaneDirectory {
  url: string;
  lookupToken: string;
  /** The plane's own token at the directory: it removes the plane's erased devices there. */
  planeToken: string;
}

/**
 * The plane's own config file: the user's settings for its one region, no fleet, no WebSocket. With
 * Mosquitto as its broker, no broker of ours: ingest logs in at Mosquitto, whose files the server keeps.
 */
function planeConfig(
  config: LauncherConfig,
  plane: PlaneLayout,
  dataDir: string,
  directory: PlaneDirectory | null,
  mosquitto: MosquittoPlaneSettings | null,
): Record<string, unknown> {
  const store = config.stores[plane.region];
  // A transfer rule is a flow out of its source region's plane: only that plane holds it (and another would refuse its source).
  const transfers = { ...config.server.transfers, rules: config.server.transfers.rules.filter((rule) => rule.from === plane.region) };
  const server =
    directory === null
      ? { ...config.server, transfers }
      : { ...config.server, transfers, globalDirectory: { url: directory.url, token: directory.planeToken } };
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
    broker:
      directory === null || mosquitto !== null
        ? config.broker
        : { ...config.broker, plane: { region: plane.region, directory: { url: directory.url, token: directory.lookupToken } } },
    server: mosquitto === null ? server : { ...server, mosquitto: mosquitto.mosquitto },
    ...(mosquitto === null ? {} : { externalBroker: mosquitto.externalBroker }),
  };
}

/**
 * Starts one plane: its settings written to `<root>/<region>.config.json` (0600: it may hold a
 * store URL or a broker account with a password), its data under `<root>/<region>/`. `env` carries
 * the admin token. With `planeBroker: 'mosquitto'`, its Mosquitto first (launcher/mosquitto-plane.ts).
 */
export async function startPlane(
  config: LauncherConfig,
  plane: PlaneLayout,
  root: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  options: ChildCommandOptions & { directory?: PlaneDirectory | null } = {},
): Promise<ChildCommand> {
  ensureOwnerOnlyDir(root);
  const file = join(root, `${plane.region}.config.json`);
  const dataDir = join(root, plane.region);
  const start = async (mosquitto: MosquittoPlaneSettings | null): Promise<ChildCommand> => {
    await replaceOwnerOnlyFile(file, `${JSON.stringify(planeConfig(config, plane, dataDir, options.directory ?? null, mosquitto), null, 2)}\n`);
    return startChildCommand(`plane ${plane.region}`, ['start', '--config', file], env, logger, options);
  };
  if (config.planeBroker === 'aedes') return start(null);
  ensureOwnerOnlyDir(dataDir);
  const servicePort = await freePort(serviceHost(plane.host));
  return startMosquittoPlane(config, { ...plane, servicePort }, dataDir, logger, start, options);
}

const token = (): string => randomBytes(24).toString('base64url');
// Settings the children must take from their files, not from what this process was given.
const OWN_TOKEN_VARIABLES = [
  'BREWTEL_ADMIN_TOKEN',
  'BREWTEL_TOKENS',
  'BREWTEL_DIRECTORY_ADMIN_TOKEN',
  'BREWTEL_DIRECTORY_LOOKUP_TOKEN',
  'BREWTEL_DIRECTORY_TOKEN',
];

/**
 * The tokens of one deployment of planes. One admin token for all (the demo's operator signs in to
 * every plane's dashboard with it); each plane gets an operator token of its own region, which the
 * directory provisions with there; the brokers and the machines look homes up with a lookup token
 * that can do nothing else.
 */
export interface PlaneTokens {
  adminToken: string;
  lookupToken: string;
  planes: ReadonlyMap<RegionId, string>;
}

export function planeTokens(regions: readonly RegionId[], adminToken?: string): PlaneTokens {
  return { adminToken: adminToken ?? token(), lookupToken: token(), planes: new Map(regions.map((region) => [region, token()])) };
}

/** `env` without the token variables of this process: each child gets its own, or takes them from its file. */
export function childBaseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !OWN_TOKEN_VARIABLES.includes(name)));
}

/**
 * Starts plane `plane.region` as the directory at `directoryUrl` knows it. Tokens go by
 * environment (it beats a config file), never on a command line.
 */
export function startPlaneOf(
  config: LauncherConfig,
  plane: PlaneLayout,
  directoryUrl: string,
  tokens: PlaneTokens,
  root: string,
  baseEnv: NodeJS.ProcessEnv,
  logger: Logger,
  options: ChildCommandOptions = {},
): Promise<ChildCommand> {
  const planeToken = tokens.planes.get(plane.region);
  if (planeToken === undefined) throw new Error(`no token for plane ${plane.region}`);
  const env = { ...baseEnv, BREWTEL_ADMIN_TOKEN: tokens.adminToken, BREWTEL_TOKENS: `operator:${plane.region}:${planeToken}` };
  return startPlane(config, plane, root, env, logger, { ...options, directory: { url: directoryUrl, lookupToken: tokens.lookupToken, planeToken } });
}

/** Where the directory listens. */
export interface DirectoryLayout {
  host: string;
  port: number;
}

/** The directory of `planes`, its settings written to `<root>/directory.config.json` (0600: it holds the directory's tokens). */
export async function startDirectoryOf(
  config: LauncherConfig,
  planes: readonly PlaneLayout[],
  at: DirectoryLayout,
  tokens: PlaneTokens,
  root: string,
  baseEnv: NodeJS.ProcessEnv,
  logger: Logger,
  options: ChildCommandOptions = {},
): Promise<ChildCommand> {
  ensureOwnerOnlyDir(root);
  const file = join(root, 'directory.config.json');
  const directoryConfig = {
    planes: planes.map((plane) => ({
      region: plane.region,
      mqttUrl: `mqtt://${urlHost(plane.host)}:${plane.mqttPort}`,
      apiUrl: `http://${urlHost(plane.host)}:${plane.httpPort}`,
      token: tokens.planes.get(plane.region),
    })),
    adminToken: tokens.adminToken,
    lookupToken: tokens.lookupToken,
    dataDir: join(root, 'directory'),
    http: { host: at.host, port: at.port },
    logLevel: config.logLevel,
  };
  await replaceOwnerOnlyFile(file, `${JSON.stringify(directoryConfig, null, 2)}\n`);
  return startChildCommand('directory', ['directory', '--config', file], baseEnv, logger, options);
}

/** The planes and the directory between them, all on this machine. */
export async function startPlanes(config: LauncherConfig, env: NodeJS.ProcessEnv, logger: Logger): Promise<RunningPlanes> {
  const tokens = planeTokens(config.regions, config.adminToken);
  const root = join(config.dataDir, 'planes');
  ensureOwnerOnlyDir(root);
  // Before anything starts: a missing broker binary is a one-line error, not a half-started deployment.
  if (config.planeBroker === 'mosquitto') checkMosquittoBinary(config.mosquittoBin);
  const layout = await planeLayout(config);
  const baseEnv = childBaseEnv(env);
  const directoryUrl = `http://${urlHost(config.host)}:${layout.directoryPort}`;
  const children: ChildCommand[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.splice(0).map((child) => child.stop()));
  };
  try {
    for (const plane of layout.planes) children.push(await startPlaneOf(config, plane, directoryUrl, tokens, root, baseEnv, logger));
    children.push(await startDirectoryOf(config, layout.planes, { host: config.host, port: layout.directoryPort }, tokens, root, baseEnv, logger));
    const ready = await Promise.all(children.map((child) => child.ready));
    const planes = layout.planes.map((plane, i): RunningPlane => {
      const child = children[i]!;
      return {
        region: plane.region,
        httpUrl: ready[i]!.httpUrl,
        mqttUrl: ready[i]!.mqttUrl ?? '',
        stop: async () => {
          await child.stop();
        },
      };
    });
    return { planes, directoryUrl: ready.at(-1)!.httpUrl, adminToken: tokens.adminToken, lookupToken: tokens.lookupToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
