import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { requireTcp, startBroker, type TcpBroker } from '../broker/broker.ts';
import { serverConfigSchema } from '../server/config.ts';
import { ensureOwnerOnlyDir } from '../server/owner-only-files.ts';
import { startServer, type RunningServer } from '../server/server.ts';
import { createFleet, type Fleet, type FleetOptions } from '../firmware-sim/fleet.ts';
import { provisionMachines } from '../firmware-sim/provision.ts';
import { deviceListResponseSchema } from '../schema/api.ts';
import { demoClockAheadMs } from './clock-window.ts';
import type { ExternalBroker, LauncherConfig } from './config.ts';
import { ensureDemoOwners } from './demo-owners.ts';
import { loadFleetCredentials, saveFleetCredentials, type StoredMachine } from './fleet-credentials.ts';

/**
 * Glue only: starts the three rooms in the order their dependencies need and stops them in reverse.
 * Server HTTP first (the broker asks it about device secrets), then the broker, then the server's
 * ingest attaches to the broker, then the fleet. The rooms never see each other; they get URLs and
 * secrets that this function makes up for them.
 */
export interface Stack {
  /** Null when the stack uses a broker of its own (StackOptions.externalBroker, config.externalBroker). */
  broker: TcpBroker | null;
  /** Where devices and ingest reach the broker. */
  mqttUrl: string;
  server: RunningServer;
  fleet: Fleet | null;
  adminToken: string;
  /**
   * Closes the embedded broker (its clients get DISCONNECT 0x8B, its in-memory sessions and retained
   * messages are gone, as after a crash of a broker without persistence), keeps it down `downMs`,
   * and starts it again on the same port; devices and ingest reconnect by themselves.
   */
  restartBroker(downMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a long startup tells its caller as it goes, and how it is cut short. After `signal` aborts,
 * startStack returns at the next step with what is running by then (no further machines are
 * provisioned or connected); the caller closes it.
 */
export interface StartupHooks {
  signal?: AbortSignal;
  /** Broker, server and ingest are up; the fleet is still to come. */
  onServices?(stack: Stack): void;
  onProvisioning?(provisioned: number, total: number): void;
  /** Demo owners created (or found) for so many of the machines. */
  onOwners?(done: number, total: number): void;
  /** The fleet exists and is connecting; its stats() show how far it got. */
  onFleet?(fleet: Fleet): void;
}

/** What only code sets: the test harness's choices that `npm start` has no flag for. */
export interface StackOptions {
  /**
   * A broker already running elsewhere, over config.externalBroker: no embedded broker starts, ingest
   * logs in with this account and the fleet connects there (the broker then decides who may log in;
   * ours asks the server).
   */
  externalBroker?: ExternalBroker | undefined;
  /** Give every demo machine a made-up owner (default true; the harness skips it, to start faster). */
  demoOwners?: boolean;
  /**
   * How the demo fleet is started: createFleet (default: in this process, the harness hands the
   * Fleet to its users) or `npm start`'s startFleetProcess (launcher/fleet-child.ts, a process of its own).
   */
  launchFleet?: (options: FleetOptions, logger: Logger) => Fleet | Promise<Fleet>;
}

const secretToken = (): string => randomBytes(24).toString('base64url');

/** Resolves when `promise` does or `signal` aborts, whichever comes first. */
function untilAborted(promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise.then(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    promise.then(() => resolve(), reject);
  });
}

/** Connections beyond the demo fleet: the ingest session, its outbound connection, a few of the user's own clients. */
const FLEET_HEADROOM = 64;

/** Starts the stack; `startup` hears how a long start goes and may cut it short (StartupHooks). */
export async function startStack(config: LauncherConfig, logger: Logger, startup: StartupHooks & StackOptions = {}): Promise<Stack> {
  const { signal } = startup;
  // A function, not a read: the flag changes while the steps are awaited.
  const aborted = (): boolean => signal?.aborted === true;
  ensureOwnerOnlyDir(config.dataDir);
  const adminToken = config.adminToken ?? secretToken();
  const brokerToken = secretToken();
  const ingestAccount = { username: 'svc-ingest', password: secretToken(), role: 'ingest' as const };
  const external = startup.externalBroker ?? config.externalBroker ?? undefined;

  // Stopped in this order, whatever order they started in: the fleet stops publishing, the broker
  // stops taking logins (machines still connecting would otherwise ask a registry that is going),
  // the server lets ingest commit what it holds while the broker is still there, then the broker goes.
  const running: { fleet?: Fleet; server?: RunningServer; broker?: TcpBroker } = {};
  const unwind = async (): Promise<void> => {
    const steps = [() => running.fleet?.stop(), () => running.broker?.stopLogins(), () => running.server?.close(), () => running.broker?.close()];
    for (const step of steps) {
      await Promise.resolve(step()).catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };

  try {
    const server = await startServer(
      serverConfigSchema.parse({
        ...config.server,
        regions: config.regions,
        dataDir: config.dataDir,
        stores: config.stores,
        ...(config.directoryUrl === undefined ? {} : { directoryUrl: config.directoryUrl }),
        http: { host: config.host, port: config.httpPort },
        adminToken,
        brokerToken,
        tokens: config.tokens,
        logLevel: config.logLevel,
        ingest: { ...config.server.ingest, clockAheadMs: demoClockAheadMs(config.speed, config.duration) },
        dashboard: config.machines > 0 ? { simulatedSpeed: config.speed } : {},
        // Known at start, so a Mosquitto sync (config.server.mosquitto) writes the ingest account and its $share group.
        ...(external === undefined
          ? {}
          : {
              mqtt: {
                url: external.url,
                username: external.username,
                password: external.password,
                clientId: external.clientId ?? ingestAccount.username,
                ...(external.shareGroup === undefined ? {} : { shareGroup: external.shareGroup }),
              },
            }),
      }),
      logger.child({ room: 'server' }),
    );
    running.server = server;

    const startEmbeddedBroker = (tcpPort: number): Promise<TcpBroker> =>
      startBroker(
        {
          ...config.broker,
          // The demo fleet and the ingest session always fit: a connection limit below the fleet the
          // launcher itself starts would only turn its last machines away.
          limits: { ...config.broker.limits, maxConnections: Math.max(config.broker.limits.maxConnections, config.machines + FLEET_HEADROOM) },
          host: config.host,
          tcpPort,
          wsPort: config.wsPort,
          serviceAccounts: [ingestAccount],
          deviceAuth: { url: `${server.httpUrl}/api/v1/broker/device-auth`, token: brokerToken, cacheTtlMs: 300_000, timeoutMs: 5_000 },
          logLevel: config.logLevel,
        },
        logger.child({ room: 'broker' }),
      ).then(requireTcp);
    let broker: TcpBroker | null = null;
    if (external === undefined) {
      const embedded = await startEmbeddedBroker(config.mqttPort);
      running.broker = broker = embedded;
      server.attachIngest({
        url: loopbackUrl(embedded.mqttUrl),
        username: ingestAccount.username,
        password: ingestAccount.password,
        clientId: ingestAccount.username,
      });
    }
    const mqttUrl = broker ? broker.mqttUrl : (external?.deviceUrl ?? external?.url ?? '');
    server.advertiseMqtt(mqttUrl);
    await server.whenIngestReady();

    const stack: Stack = {
      broker,
      mqttUrl,
      server,
      fleet: null,
      adminToken,
      close: unwind,
      async restartBroker(downMs) {
        const current = running.broker;
        if (!current) throw new Error('this stack runs no embedded broker to restart');
        const port = Number(new URL(current.mqttUrl).port);
        await current.close();
        running.broker = undefined;
        await new Promise((resolve) => setTimeout(resolve, downMs));
        const restarted = await startEmbeddedBroker(port);
        running.broker = restarted;
        stack.broker = restarted;
      },
    };
    startup.onServices?.(stack);
    if (config.machines > 0 && !aborted()) {
      const machines = await demoMachines(config, server.httpUrl, adminToken, startup);
      if (aborted()) return stack;
      const fleet = await (startup.launchFleet ?? createFleet)(
        {
          ...config.fleet,
          brokerUrl: loopbackUrl(mqttUrl),
          machines,
          seed: config.seed,
          speed: config.speed,
          mqttVersion: config.mqttVersion,
          connectRatePerS: config.connectRate,
        },
        logger.child({ room: 'fleet' }),
      );
      running.fleet = fleet;
      server.controlFleet(fleet);
      stack.fleet = fleet;
      startup.onFleet?.(fleet);
      await untilAborted(fleet.whenRamped(), signal);
    }
    return stack;
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** A listener bound to every address is still reached over loopback from inside this process. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:');
}

/**
 * Reuses the machines of an earlier run with the same data folder when the server still knows them,
 * and provisions the rest through the public API, exactly as a user's own tooling would; each gets
 * a (made-up) owner the same way, kept across restarts like the machines.
 */
async function demoMachines(config: LauncherConfig, apiUrl: string, token: string, startup: StartupHooks & StackOptions): Promise<StoredMachine[]> {
  const file = join(config.dataDir, 'fleet-credentials.json');
  const known = await stillRegistered(await loadFleetCredentials(file), apiUrl, token);
  const wantLeaky = config.leaky;
  const wantCompliant = config.machines - config.leaky;
  const compliant = known.filter((m) => m.profile === 'compliant').slice(0, wantCompliant);
  const leaky = known.filter((m) => m.profile === 'leaky').slice(0, wantLeaky);
  const missing = config.machines - compliant.length - leaky.length;
  if (missing > 0) {
    startup.onProvisioning?.(0, missing);
    const fresh = await provisionMachines(
      { apiUrl, token, count: missing, regions: config.regions, seed: config.seed + known.length, leaky: wantLeaky - leaky.length },
      (provisioned) => startup.onProvisioning?.(provisioned, missing),
      startup.signal,
    );
    for (const machine of fresh) {
      const entry: StoredMachine = { deviceId: machine.deviceId, secret: machine.secret, region: machine.region, profile: machine.profile ?? 'compliant' };
      (entry.profile === 'leaky' ? leaky : compliant).push(entry);
    }
  }
  const chosen = [...compliant, ...leaky];
  const spare = known.filter((m) => !chosen.includes(m));
  // Saved before the owners too: a failure while creating them, or a Ctrl-C, must not lose the new secrets.
  await saveFleetCredentials(file, [...chosen, ...spare]);
  if (startup.signal?.aborted === true || startup.demoOwners === false) return chosen;
  startup.onOwners?.(0, chosen.length);
  const machines = await ensureDemoOwners(chosen, apiUrl, token, (done) => startup.onOwners?.(done, chosen.length), startup.signal);
  await saveFleetCredentials(file, [...machines, ...spare]);
  return machines;
}

async function stillRegistered(machines: StoredMachine[], apiUrl: string, token: string): Promise<StoredMachine[]> {
  if (machines.length === 0) return [];
  const response = await fetch(`${apiUrl}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) return [];
  const { devices } = deviceListResponseSchema.parse(await response.json());
  const registered = new Map(devices.map((d) => [d.id, d.region]));
  return machines.filter((m) => registered.get(m.deviceId) === m.region);
}
