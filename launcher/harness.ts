/**
 * The `brewtel` entry point of the package: the embedded stack (broker, server, fleet) for other
 * projects' tests, built on launcher/stack.ts. Ephemeral ports on 127.0.0.1 and a fresh data folder
 * that goes with stop(); an external broker and PostgreSQL stores are options. Everything it does to
 * the stack goes through the server's real HTTP API, and what it reads back comes from the stores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { provisionDeviceResponseSchema, type ProvisionDeviceResponse, type StoredEvent } from '../schema/api.ts';
import { commandResultSchema, type CommandName, type CommandResult } from '../schema/commands.ts';
import { consentCategoriesSchema, consentRecordSchema, type ConsentCategories, type ConsentRecord } from '../schema/consent.ts';
import { eventKindSchema, type EventKind } from '../schema/events.ts';
import { complianceReportSchema, type ComplianceReport } from '../schema/privacy.ts';
import { DEFAULT_REGIONS, regionIdSchema, regionListSchema, type RegionId } from '../schema/regions.ts';
import { faultRatesSchema, type FaultRatesInput } from '../schema/fault-rates.ts';
import { startFleet, type Fleet, type FleetStats } from '../firmware-sim/fleet.ts';
import type { FirmwareProfile } from '../firmware-sim/machine-model.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import type { UsageProfileName } from '../firmware-sim/usage-profiles.ts';
import { toStoredEvent } from '../server/privacy/owner-export.ts';
import type { ServerStats } from '../server/server.ts';
import type { RegionStore, Stores } from '../server/store/types.ts';
import { isTransportUrl } from '../mqtt-wire/transport.ts';
import { launcherConfigSchema } from './config.ts';
import { apiCaller } from './harness-api.ts';
import { holdRegionStore } from './region-outage.ts';
import { startStack, type Stack } from './stack.ts';
import { logLevelSchema } from '../schema/log-level.ts';

export const harnessOptionsSchema = z.object({
  /** Machines of the fleet that starts with the stack, round-robin over the regions; 0 for none. */
  machines: z.int().min(0).max(100_000).default(10),
  /** How many of them run the story's leaky firmware (refused at the door). */
  leaky: z.int().min(0).default(0),
  regions: regionListSchema.default([...DEFAULT_REGIONS]),
  /** Same seed, same machines and behaviour. */
  seed: z.int().default(1),
  /** Simulated time speed-up of the machines' clocks: 3600 brews an hour of a day every second. */
  speed: z.number().positive().max(1_000_000).default(3_600),
  /** The machines' MQTT version, '3.1.1' or '5'; the server's own connections speak 5 either way. */
  mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
  /** Fault-injection rates every machine starts with (fleet.injectFaults changes them later). */
  faults: faultRatesSchema.optional(),
  /**
   * A broker already running (e.g. Mosquitto) instead of the embedded one: ingest logs in with this
   * account, machines with their device credentials, so that broker decides who gets in.
   */
  broker: z
    .object({
      url: z.string().refine(isTransportUrl, 'a broker URL such as mqtt://127.0.0.1:1883'),
      username: z.string().default('svc-ingest'),
      password: z.string().default(''),
    })
    .optional(),
  /** Region -> store URL (`postgresql://…`); regions left out get SQLite in the harness's own folder. */
  stores: z.record(regionIdSchema, z.string()).default({}),
  /** The global directory's store URL; SQLite in the harness's folder unless set. */
  directoryUrl: z.string().optional(),
  logLevel: logLevelSchema.default('silent'),
});
export type HarnessOptions = z.input<typeof harnessOptionsSchema>;
type MqttVersionInput = z.input<typeof mqttVersionSchema>;

/** A device the harness provisioned: its credentials (the secret is shown only here) and its consent. */
export type HarnessDevice = ProvisionDeviceResponse;

/** The compliance report with its totals at the top, so `toMatchObject({ residencyViolations: 0 })` reads it. */
export type HarnessReport = ComplianceReport & ComplianceReport['totals'];

/** An event as its home region's store holds it, in the API's shape, with the region it was read from. */
export type HarnessStoredEvent = StoredEvent & { region: RegionId };

/**
 * A device to provision: its home region and consent, and, for the simulated machine it runs as
 * (unless `run: false`), its firmware (`leaky`: the story's), usage profile and MQTT version.
 */
export interface ProvisionRequest {
  region: RegionId;
  consent?: ConsentCategories;
  run?: boolean;
  profile?: FirmwareProfile;
  usage?: UsageProfileName;
  mqttVersion?: MqttVersionInput;
}

export interface WaitForStoredOptions {
  count: number;
  region?: RegionId;
  kind?: EventKind;
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface HarnessFleet {
  /** The machines of every fleet the harness runs (the initial one and each provisioned device). */
  stats(): FleetStats[];
  /** Fault rates from now on, for these device ids or every machine; `{}` turns injection off. */
  injectFaults(rates: FaultRatesInput, deviceIds?: readonly string[]): void;
  /** Brews of these machines (or all) `factor` times as often from now on; see Fleet.setBrewRate. */
  setBrewRate(factor: number, deviceIds?: readonly string[]): void;
  /** Clocks of these machines (or all) `skewMs` off from now on; see Fleet.setClockSkew. */
  setClockSkew(skewMs: number, deviceIds?: readonly string[]): void;
  /** Acknowledged publishes of all machines together. */
  published(): number;
}

export interface Harness extends AsyncDisposable {
  readonly mqttUrl: string;
  readonly httpUrl: string;
  readonly adminToken: string;
  /** The machines that started with the stack: ids and home regions. */
  readonly machines: ReadonlyArray<{ deviceId: string; region: RegionId }>;
  readonly fleet: HarnessFleet;
  /** Provisions a device through the API and, unless `run: false`, starts it as a simulated machine. */
  provision(request: ProvisionRequest): Promise<HarnessDevice>;
  /** Records a new consent version through the API: the categories given change, the others stay. */
  setConsent(deviceId: string, consent: Partial<ConsentCategories>): Promise<ConsentRecord>;
  /** Sends a command through the API and resolves with the device's answer. */
  sendCommand(deviceId: string, name: CommandName, args?: Record<string, unknown>, options?: { waitMs?: number }): Promise<CommandResult>;
  /** The compliance report (GET /api/v1/compliance), totals also at the top level. */
  report(): Promise<HarnessReport>;
  /** Resolves once the stores hold at least `count` events (of a region, of a kind); rejects after the timeout saying what it saw. */
  waitForStored(options: WaitForStoredOptions): Promise<number>;
  /**
   * Takes a region's store out of service for `forMs` (another connection holds its write lock, see
   * region-outage.ts); resolves when it is back. Ingest keeps that region's messages at the broker
   * meanwhile and the other regions store on.
   */
  regionOutage(region: RegionId, forMs: number): Promise<void>;
  /** The embedded broker down for `forMs`, then up again on the same port (Stack.restartBroker); resolves when it is back. */
  brokerOutage(forMs: number): Promise<void>;
  /** Events stored now, in one region or all, of one kind or all, counted in the stores themselves. */
  countStored(query?: { region?: RegionId; kind?: EventKind }): Promise<number>;
  /** The server's ingest counts: stored and refused per region, refused by reason code. */
  ingestStats(): Promise<ServerStats>;
  /** What a region's store holds, newest first per device (at most `limit` per device, default 1000). */
  storedEvents(query: { region: RegionId; deviceId?: string; kind?: EventKind; limit?: number }): Promise<HarnessStoredEvent[]>;
  /** Stops the fleets, the server and the broker, drops the data folder; safe to call more than once. */
  stop(): Promise<void>;
}

// The package's entry point: callers catch this class by name.
export { HarnessApiError } from './harness-api.ts';

const POLL_MS = 50;

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const opts = harnessOptionsSchema.parse(options);
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-harness-'));
  const logger = pino({ level: opts.logLevel });
  const removeDataDir = (): Promise<void> => rm(dataDir, { recursive: true, force: true });
  let stack: Stack;
  try {
    // startStack stops whatever it had started when a later step fails; the folder is ours to drop.
    stack = await startStack(
      launcherConfigSchema.parse({
        machines: opts.machines,
        leaky: opts.leaky,
        regions: opts.regions,
        seed: opts.seed,
        speed: opts.speed,
        mqttVersion: opts.mqttVersion,
        httpPort: 0,
        mqttPort: 0,
        wsPort: null,
        host: '127.0.0.1',
        dataDir,
        logLevel: opts.logLevel,
        stores: opts.stores,
        ...(opts.directoryUrl === undefined ? {} : { directoryUrl: opts.directoryUrl }),
      }),
      logger,
      { externalBroker: opts.broker, demoOwners: false },
    );
  } catch (error) {
    await removeDataDir();
    throw error;
  }
  if (opts.faults && stack.fleet) stack.fleet.injectFaults(opts.faults);
  return harnessOver(embeddedBackend(stack, opts, dataDir, removeDataDir), opts, logger);
}

/**
 * What a harness reads and does beyond the server's HTTP API and its own simulated machines: the
 * embedded stack's stores and broker (createHarness), or a deployment elsewhere through its API
 * alone (remote-harness.ts).
 */
export interface HarnessBackend {
  mqttUrl: string;
  httpUrl: string;
  adminToken: string;
  /** The machines that started with it, if any. */
  fleet: Fleet | null;
  storedCount(region: RegionId, kind: EventKind | undefined): Promise<number>;
  storedEvents(query: { region: RegionId; deviceId?: string | undefined; kind?: EventKind | undefined; limit: number }): Promise<HarnessStoredEvent[]>;
  ingestStats(): Promise<ServerStats>;
  regionOutage(region: RegionId, forMs: number): Promise<void>;
  brokerOutage(forMs: number): Promise<void>;
  /** Stops what it started (its fleet included) and removes what it made. */
  close(): Promise<void>;
}

function embeddedBackend(stack: Stack, opts: z.output<typeof harnessOptionsSchema>, dataDir: string, removeDataDir: () => Promise<void>): HarnessBackend {
  const regionStore = (stores: Stores, region: RegionId): RegionStore => {
    const store = stores.regions.get(region);
    if (!store) throw new Error(`no region ${region} in this harness (regions: ${[...stores.regions.keys()].join(', ')})`);
    return store;
  };
  return {
    get mqttUrl() {
      return stack.mqttUrl;
    },
    httpUrl: stack.server.httpUrl,
    adminToken: stack.adminToken,
    fleet: stack.fleet,
    async storedCount(region, kind) {
      const store = regionStore(stack.server.stores, region);
      return kind === undefined ? (await store.counts()).stored : ((await store.facts()).eventsByKind[kind] ?? 0);
    },
    async storedEvents({ region, deviceId, kind, limit }) {
      const { stores } = stack.server;
      const store = regionStore(stores, region);
      const devices = deviceId !== undefined ? [deviceId] : (await stores.directory.list()).filter((e) => e.region === region).map((e) => e.deviceId);
      const rows = (await Promise.all(devices.map((id) => store.listEvents(id, { limit, ...(kind === undefined ? {} : { kind }) })))).flat();
      return rows.map((row) => ({ ...toStoredEvent(row), region }));
    },
    ingestStats: async () => stack.server.stats(),
    brokerOutage: (forMs) => stack.restartBroker(forMs),
    regionOutage(region, forMs) {
      regionStore(stack.server.stores, region);
      const url = opts.stores[region];
      return holdRegionStore(url === undefined ? { sqliteFile: join(dataDir, `${region}.db`) } : { postgresUrl: url }, forMs);
    },
    async close() {
      const failures: unknown[] = [];
      await stack.close().catch((error: unknown) => failures.push(error));
      await removeDataDir().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    },
  };
}

export function harnessOver(
  backend: HarnessBackend,
  opts: Pick<z.output<typeof harnessOptionsSchema>, 'regions' | 'seed' | 'speed' | 'mqttVersion'>,
  logger: Logger,
): Harness {
  const { httpUrl } = backend;
  const fleets: Fleet[] = backend.fleet ? [backend.fleet] : [];
  const fleetOf = new Map<string, Fleet>();
  const machines = (backend.fleet ? backend.fleet.machines() : []).map((m) => ({ deviceId: m.deviceId, region: m.region }));
  for (const m of machines) fleetOf.set(m.deviceId, backend.fleet!);

  const api = apiCaller(httpUrl, backend.adminToken);

  const storedCount = (region: RegionId, kind: EventKind | undefined): Promise<number> => backend.storedCount(region, kind);

  /** Hands each fleet its own machines of `deviceIds` (all its machines when none are given). */
  const eachFleet = (what: string, deviceIds: readonly string[] | undefined, apply: (fleet: Fleet, mine: readonly string[] | undefined) => void): void => {
    if (deviceIds === undefined) {
      for (const f of fleets) apply(f, undefined);
      return;
    }
    const unknown = deviceIds.filter((id) => !fleetOf.has(id));
    if (unknown.length > 0) throw new Error(`${what}: not machines of this harness: ${unknown.join(', ')}`);
    for (const f of fleets) {
      const mine = deviceIds.filter((id) => fleetOf.get(id) === f);
      if (mine.length > 0) apply(f, mine);
    }
  };

  let provisioned = 0;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Every step runs whatever the one before did; the first failure is reported after cleanup.
      const failures: unknown[] = [];
      await Promise.all(fleets.filter((f) => f !== backend.fleet).map((f) => f.stop().catch((error: unknown) => failures.push(error))));
      await backend.close().catch((error: unknown) => failures.push(error));
      if (failures.length > 0) throw failures[0];
    })());

  return {
    get mqttUrl() {
      return backend.mqttUrl;
    },
    httpUrl,
    adminToken: backend.adminToken,
    machines,
    fleet: {
      stats: () => fleets.map((f) => f.stats()),
      published: () => fleets.reduce((n, f) => n + f.stats().published, 0),
      injectFaults(rates, deviceIds) {
        eachFleet('injectFaults', deviceIds, (f, mine) => f.injectFaults(rates, mine));
      },
      setBrewRate(factor, deviceIds) {
        eachFleet('setBrewRate', deviceIds, (f, mine) => f.setBrewRate(factor, mine));
      },
      setClockSkew(skewMs, deviceIds) {
        eachFleet('setClockSkew', deviceIds, (f, mine) => f.setClockSkew(skewMs, mine));
      },
    },

    async provision({ region, consent, run = true, profile, usage, mqttVersion }) {
      const device = await api('POST', '/api/v1/devices', provisionDeviceResponseSchema, { region, ...(consent ? { consent } : {}) });
      if (run) {
        provisioned += 1;
        const fleet = await startFleet(
          {
            brokerUrl: backend.mqttUrl,
            machines: [{ deviceId: device.id, secret: device.secret, region: device.region, ...(profile ? { profile } : {}), ...(usage ? { usage } : {}) }],
            seed: opts.seed + 1_000 + provisioned,
            speed: opts.speed,
            mqttVersion: mqttVersion ?? opts.mqttVersion,
          },
          logger.child({ room: 'fleet', device: device.id }),
        );
        fleets.push(fleet);
        fleetOf.set(device.id, fleet);
      }
      return device;
    },

    async setConsent(deviceId, consent) {
      const current = await api('GET', `/api/v1/devices/${encodeURIComponent(deviceId)}`, z.object({ consent: consentRecordSchema.nullable() }));
      const categories = consentCategoriesSchema.parse({
        usage: false,
        location: 'none',
        payment: false,
        diagnostics: false,
        ...current.consent?.categories,
        ...consent,
      });
      return api('PUT', `/api/v1/devices/${encodeURIComponent(deviceId)}/consent`, consentRecordSchema, categories);
    },

    sendCommand(deviceId, name, args, { waitMs } = {}) {
      const query = waitMs === undefined ? '' : `?waitMs=${waitMs}`;
      return api('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/commands/${name}${query}`, commandResultSchema, args ?? {});
    },

    async report() {
      const report = await api('GET', '/api/v1/compliance', complianceReportSchema);
      return { ...report, ...report.totals };
    },

    async waitForStored({ count, region, kind, timeoutMs = 10_000 }) {
      if (kind !== undefined) eventKindSchema.parse(kind);
      const regions = region === undefined ? opts.regions : [regionIdSchema.parse(region)];
      const deadline = performance.now() + timeoutMs;
      let seen: number[] = [];
      for (;;) {
        seen = await Promise.all(regions.map((r) => storedCount(r, kind)));
        const total = seen.reduce((a, b) => a + b, 0);
        if (total >= count) return total;
        if (performance.now() >= deadline) {
          const what = [`${count} stored events`, region && `in region ${region}`, kind && `of kind ${kind}`].filter(Boolean).join(' ');
          const perRegion = regions.map((r, i) => `${r} ${seen[i]}`).join(', ');
          throw new Error(
            `waitForStored: waited ${timeoutMs} ms for ${what}; saw ${total} (${perRegion}; the fleet published ${fleets.reduce((n, f) => n + f.stats().published, 0)})`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },

    async countStored({ region, kind } = {}) {
      const regions = region === undefined ? opts.regions : [regionIdSchema.parse(region)];
      return (await Promise.all(regions.map((r) => storedCount(r, kind)))).reduce((a, b) => a + b, 0);
    },

    ingestStats: () => backend.ingestStats(),
    brokerOutage: (forMs) => backend.brokerOutage(forMs),
    regionOutage: (region, forMs) => backend.regionOutage(regionIdSchema.parse(region), forMs),
    storedEvents: ({ region, deviceId, kind, limit = 1_000 }) => backend.storedEvents({ region: regionIdSchema.parse(region), deviceId, kind, limit }),

    stop,
    [Symbol.asyncDispose]: stop,
  };
}
