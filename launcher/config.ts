import { z } from 'zod';
import { DEFAULT_REGIONS, regionListSchema } from '../schema/regions.ts';
import { brokerOptionsSchema } from '../broker/config.ts';
import { httpRateLimitSchema, httpStreamLimitsSchema, mqttConfigSchema, serverConfigSchema, tokenConfigSchema } from '../server/config.ts';
import { fleetOptionsSchema } from '../firmware-sim/fleet-options.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import { connectRateFlagSchema } from '../firmware-sim/fleet-options.ts';
import { logLevelSchema } from '../schema/log-level.ts';
import { DEFAULT_MOSQUITTO_BIN } from './mosquitto-process.ts';

const port = z.coerce.number().int().min(0).max(65535);
const server = serverConfigSchema.shape;

/**
 * The embedded server's settings the launcher does not decide itself (it sets regions, stores,
 * listeners, tokens and the clock window): the server's own schemas, taken from server/config.ts.
 */
export const launcherServerSettingsSchema = z.object({
  http: z.object({ rateLimit: httpRateLimitSchema.prefault({}), streams: httpStreamLimitsSchema.prefault({}) }).prefault({}),
  ingest: server.ingest,
  privacy: server.privacy,
  brokerAuth: server.brokerAuth,
  mosquitto: server.mosquitto,
  commands: server.commands,
  deviceSecretKeyFile: server.deviceSecretKeyFile,
  globalDirectory: server.globalDirectory,
  consentPublishTimeoutMs: server.consentPublishTimeoutMs,
  healthTimeoutMs: server.healthTimeoutMs,
  transfers: server.transfers,
});

/**
 * A broker running beside the launcher instead of the embedded one (a Mosquitto plane's, say): ingest
 * logs in at `url` with the account (its fields as the server's `mqtt` takes them), devices are told
 * `deviceUrl` (default `url`). The broker decides who may log in.
 */
export const externalBrokerSchema = mqttConfigSchema
  .pick({ url: true, username: true, password: true, shareGroup: true })
  .extend({ clientId: z.string().min(1).optional(), deviceUrl: z.string().optional() });
export type ExternalBroker = z.infer<typeof externalBrokerSchema>;

/** What each plane of `--planes` runs as its broker: ours (aedes, sending misdirected devices home) or Mosquitto. */
export const PLANE_BROKERS = ['aedes', 'mosquitto'] as const;

/** The demo fleet's settings beyond its size, seed, speed and MQTT version: firmware-sim/fleet-options.ts's own. */
export const launcherFleetSettingsSchema = fleetOptionsSchema
  .pick({
    connectConcurrency: true,
    offlineBufferSize: true,
    inFlightMax: true,
    faults: true,
    machineFaults: true,
    sessionExpirySeconds: true,
    willDelaySeconds: true,
    drainTimeoutMs: true,
  })
  .prefault({});

/**
 * Options of `npm start`: the embedded stack plus a demo fleet (in a process of its own). Also the one
 * schema of `brewtel.config.(json|yaml)` (launcher/config-file.ts): the launcher's own fields, and
 * the broker, server and fleet sections built from those rooms' schemas.
 */
export const launcherConfigSchema = z
  .object({
    machines: z.coerce.number().int().min(0).max(100_000).default(30),
    /** Leaky machines among them (the firmware from the story), so refusals are visible; default 1 when there is a fleet. */
    leaky: z.coerce.number().int().min(0).optional(),
    /** Seconds to run, then print a summary and exit; 0 runs until Ctrl-C. */
    duration: z.coerce.number().min(0).default(0),
    httpPort: port.default(8080),
    mqttPort: port.default(1883),
    /** null switches the WebSocket listener off. */
    wsPort: port.nullable().default(8083),
    host: z.string().default('127.0.0.1'),
    dataDir: z.string().default('data'),
    /** Region -> store URL (`file:…` or `postgresql://…`), as the server takes them; the rest are SQLite in dataDir. */
    stores: serverConfigSchema.shape.stores,
    /** The global directory's store; SQLite in dataDir unless set. */
    directoryUrl: serverConfigSchema.shape.directoryUrl,
    regions: regionListSchema.default([...DEFAULT_REGIONS]),
    seed: z.coerce.number().int().default(1),
    /** Simulated time runs this many times faster than real time (360: an hour every 10 s). */
    speed: z.coerce.number().positive().max(10_000_000).default(360),
    adminToken: z.string().min(16).optional(),
    /** Operator, auditor and further admin tokens (`--token`, BREWTEL_TOKENS). */
    tokens: z.array(tokenConfigSchema).default([]),
    logLevel: logLevelSchema.default('warn'),
    /**
     * The demo machines' MQTT version, '3.1.1' or '5' (default), unless the credentials file names one
     * for a machine; the server's own connections speak MQTT 5 either way.
     */
    mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
    /** The demo machines' first connection attempts per second, at most; 0 (default): as fast as the broker answers. */
    connectRate: connectRateFlagSchema.default(0),
    /**
     * Prints the guided tour's address: the dashboard walks through the story chapter by chapter and
     * drives this stack through the HTTP API from the browser (see README "Guided tour").
     */
    tour: z.boolean().default(false),
    /**
     * One plane per region (broker, server, store) as a process of its own, plus the global directory,
     * instead of one process for all (docs/planes.md).
     */
    planes: z.boolean().default(false),
    /** Each plane's broker with --planes: ours (default) or a Mosquitto process per plane, its files kept by the plane's server. */
    planeBroker: z.enum(PLANE_BROKERS).default('aedes'),
    /** The Mosquitto binary a Mosquitto plane runs. */
    mosquittoBin: z.string().min(1).default(DEFAULT_MOSQUITTO_BIN),
    /** A broker of one's own instead of the embedded one; null: the embedded broker. */
    externalBroker: externalBrokerSchema.nullable().default(null),
    /** The embedded broker's TLS listener, limits, metrics and cluster mode, as broker/main.ts takes them. */
    broker: brokerOptionsSchema.prefault({}),
    /** The embedded server's settings: retention, pseudonym secrets, quarantine payloads, ingest limits, … */
    server: launcherServerSettingsSchema.prefault({}),
    /** The demo fleet's connection, offline buffer and fault settings. */
    fleet: launcherFleetSettingsSchema,
  })
  .refine((c) => Object.keys(c.stores).every((r) => c.regions.includes(r)), { message: 'every store URL must belong to a configured region', path: ['stores'] })
  .refine((c) => (c.leaky ?? 0) <= c.machines, { message: '--leaky cannot exceed --machines', path: ['leaky'] })
  .refine((c) => !c.tour || c.machines >= 2, { message: 'the tour needs a fleet of at least 2 machines', path: ['tour'] })
  .refine((c) => !(c.tour && c.planes), { message: 'the tour runs on the single-process stack, not with --planes', path: ['planes'] })
  .refine((c) => c.planeBroker === 'aedes' || c.planes, { message: 'a plane broker is chosen for --planes only', path: ['planeBroker'] })
  .refine((c) => !(c.planes && c.externalBroker !== null), { message: 'with --planes each plane starts its own broker', path: ['externalBroker'] })
  .refine((c) => !c.tour || c.leaky !== 0, { message: 'the tour shows the leaky machine: --leaky must be at least 1', path: ['tour'] })
  .transform((c) => ({ ...c, leaky: c.leaky ?? Math.min(1, c.machines) }));
export type LauncherConfig = z.infer<typeof launcherConfigSchema>;

/** Which command-line flag sets which field, so errors can name the flag a user types. */
export const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  machines: '--machines',
  leaky: '--leaky',
  duration: '--duration',
  httpPort: '--http-port',
  mqttPort: '--mqtt-port',
  wsPort: '--ws-port',
  host: '--host',
  dataDir: '--data-dir',
  regions: '--regions',
  seed: '--seed',
  speed: '--speed',
  adminToken: 'BREWTEL_ADMIN_TOKEN',
  tokens: '--token',
  logLevel: '--log-level',
  tour: '--tour',
  planes: '--planes',
  planeBroker: '--plane-broker',
  mosquittoBin: '--mosquitto-bin',
  mqttVersion: '--mqtt-version',
  connectRate: '--connect-rate',
};
