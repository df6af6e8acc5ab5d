import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startFleet, type Fleet, type MachineIdentity } from '../../firmware-sim/fleet.ts';
import { provisionMachines } from '../../firmware-sim/provision.ts';
import { ADMIN_TOKEN, spawnServer, type ServerProcess } from '../ingest/support.ts';
import { BrokerProcess, dropRedisPrefix, freePort } from './processes.ts';

/**
 * The deployed shape, every part a real process: our broker (one node, or two sharing Redis), the
 * server on its SQLite stores, and simulated machines provisioned through the API. Scenarios kill
 * and restart these processes; the rig only starts, stops and hands out addresses.
 */
export const REGIONS = ['eu', 'us'];
const BROKER_TOKEN = 'broker-token-0123456789abcdef';
const INGEST = { username: 'svc-ingest', password: 'chaos-ingest-password-0123' };
const silent = pino({ level: 'silent' });

/**
 * `single`: our broker, state in memory. `persistent`: one node of our broker keeping its state in Redis.
 * `cluster`: two nodes of our broker over Redis (devices on the first, ingest on the second).
 */
export type RigKind = 'single' | 'persistent' | 'cluster';

export interface FleetRun {
  machines: MachineIdentity[];
  /** The machines' behaviour (usage, faults, timing); the scenario run's seed. */
  seed: number;
  brokerUrl?: string;
  speed: number;
  startAt?: number;
  offlineBufferSize?: number;
}

/** A fleet and the ids of its machines, whose rows alone make a scenario's books. */
export type RigFleet = Fleet & { deviceIds: readonly string[] };

export interface Rig {
  dataDir: string;
  brokers: BrokerProcess[];
  /** The broker node the devices use. */
  deviceBroker: BrokerProcess;
  startServer(): Promise<void>;
  /** SIGKILL, as an out-of-memory killer or a pulled plug would. */
  killServer(): Promise<void>;
  provision(count: number, seed: number): Promise<MachineIdentity[]>;
  fleet(run: FleetRun): Promise<RigFleet>;
  close(): Promise<void>;
}

export async function startRig(kind: RigKind): Promise<Rig> {
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-chaos-'));
  const httpPort = await freePort();
  const prefix = kind === 'single' ? undefined : `brewtel-chaos-${randomBytes(5).toString('hex')}:`;
  const brokers: BrokerProcess[] = [];
  for (let i = 0; i < (kind === 'cluster' ? 2 : 1); i++) {
    brokers.push(
      new BrokerProcess({
        port: await freePort(),
        deviceAuthUrl: `http://127.0.0.1:${httpPort}/api/v1/broker/device-auth`,
        deviceAuthToken: BROKER_TOKEN,
        ingest: INGEST,
        ...(prefix ? { redisPrefix: prefix } : {}),
      }),
    );
  }
  const fleets: Fleet[] = [];
  let server: ServerProcess | null = null;
  const serverArgs = [
    '--http-port',
    String(httpPort),
    '--data-dir',
    dataDir,
    '--regions',
    REGIONS.join(','),
    '--mqtt-url',
    brokers.at(-1)!.url,
    '--mqtt-username',
    INGEST.username,
    '--mqtt-password',
    INGEST.password,
    '--mqtt-client-id',
    INGEST.username,
    // The fleets' clocks run up to 64,800x (the burst) from now (or 6 h ahead): a year ahead covers any scenario's run.
    '--clock-ahead-ms',
    String(365 * 86_400_000),
    // The books are kept from rows on disk (the server restarts), so every refusal must leave its row.
    '--quarantine-per-device-hour',
    String(2 ** 31),
  ];
  const rig: Rig = {
    dataDir,
    brokers,
    deviceBroker: brokers[0]!,
    async startServer() {
      server = await spawnServer(serverArgs);
    },
    async killServer() {
      await server?.kill();
      server = null;
    },
    provision: (count, seed) =>
      provisionMachines({
        apiUrl: `http://127.0.0.1:${httpPort}`,
        token: ADMIN_TOKEN,
        count,
        regions: REGIONS,
        seed,
        consentMix: { declineAll: 0, usage: 1, diagnostics: 1, payment: 1, location: { none: 0, coarse: 1, exact: 0 } },
      }),
    async fleet(run) {
      const fleet = await startFleet(
        {
          brokerUrl: run.brokerUrl ?? brokers[0]!.url,
          machines: run.machines,
          seed: run.seed,
          speed: run.speed,
          ...(run.startAt === undefined ? {} : { startAt: run.startAt }),
          offlineBufferSize: run.offlineBufferSize ?? 100_000,
        },
        silent,
      );
      fleets.push(fleet);
      return Object.assign(fleet, { deviceIds: run.machines.map((m) => m.deviceId) });
    },
    async close() {
      await Promise.all(fleets.map((f) => f.stop()));
      await server?.stop();
      for (const broker of brokers) await broker.kill();
      if (prefix) await dropRedisPrefix(prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  try {
    for (const broker of brokers) await broker.start();
    await rig.startServer();
  } catch (error) {
    await rig.close();
    throw error;
  }
  return rig;
}
