import { z } from 'zod';
import { commandNameV1Schema, type CommandName } from '../schema/commands.ts';
import { RETENTION_CATEGORIES } from '../schema/privacy.ts';
import { DEFAULT_REGIONS, regionIdSchema, regionListSchema } from '../schema/regions.ts';
import { logLevelSchema } from '../schema/log-level.ts';
import { minCountSchema, transferRuleSchema } from '../schema/transfers.ts';

/** The widest device-clock window configuration may set: a century either way. */
export const MAX_CLOCK_WINDOW_MS = 100 * 365 * 86_400_000;

export const mqttConfigSchema = z.object({
  url: z.string(),
  username: z.string(),
  password: z.string(),
  /**
   * Fixed, so the broker keeps the ingest session (and its queued QoS 1 messages) across restarts.
   * In the svc- namespace, which device ids can never take.
   */
  clientId: z.string().default('svc-ingest'),
  /**
   * When set, events are taken through the shared subscription `$share/<group>/coffee/v1/+/evt/+`, so
   * several server processes split the load (brokers that support it: Mosquitto, EMQX; not aedes 1.x).
   * Each process then needs its own clientId.
   */
  shareGroup: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  /**
   * 4 = MQTT 3.1.1, 5 = MQTT 5.0 (the default); for the ingest session and the outbound connection
   * alike. With 5, commands carry a response topic, correlation data and a message expiry.
   */
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  keepaliveSeconds: z.int().min(5).max(3_600).default(30),
  reconnectInitialMs: z.int().min(1).default(200),
  reconnectMaxMs: z.int().min(1).default(5_000),
  /** Messages handed to ingest and not yet acknowledged; above it the socket stops reading (memory bound). */
  maxInFlight: z.int().min(1).default(20_000),
});
export type MqttConfig = z.infer<typeof mqttConfigSchema>;
export type MqttConfigInput = z.input<typeof mqttConfigSchema>;

/** A service account the server adds to Mosquitto's password file (and grants its rights in the ACL). */
export const mosquittoServiceAccountSchema = z.object({
  // svc- is the namespace device ids can never take, so no device can be provisioned under its name.
  username: z.string().regex(/^svc-[A-Za-z0-9_.-]+$/, 'a service account is svc- followed by letters, digits, _ . or -'),
  password: z.string().min(1),
});

/**
 * A plane whose broker is Mosquitto: the server keeps Mosquitto's password file and ACL file in step
 * with the registry (server/mosquitto/). Both files are written whole (0600, renamed over the old
 * one), so Mosquitto must run as the same user as the server; after each write the process named by
 * pidFile gets SIGHUP, on which Mosquitto reloads both files and drops clients no longer allowed.
 */
export const mosquittoConfigSchema = z.object({
  passwordFile: z.string().min(1),
  aclFile: z.string().min(1),
  /** Mosquitto's pid_file; when not set nobody is signalled and reloading is the operator's job. */
  pidFile: z.string().min(1).optional(),
  /** Accounts besides config.mqtt's (which is always written when set): other server processes' own. */
  serviceAccounts: z.array(mosquittoServiceAccountSchema).default([]),
  /** PBKDF2 iterations of new password lines; 101 is mosquitto_passwd's default (secrets are 256 random bits). */
  iterations: z.int().min(1).max(1_000_000).default(101),
  /** How long a write waits for another server process's lock on the password file before it gives up (logged). */
  lockTimeoutMs: z.int().min(10).default(5_000),
});
export type MosquittoConfig = z.infer<typeof mosquittoConfigSchema>;
export type MosquittoConfigInput = z.input<typeof mosquittoConfigSchema>;

/**
 * MQTT 5 Message Expiry of commands (v5 §3.3.2.3.3): a broker holding one for a device that is away
 * drops it once it is this old [MQTT-3.3.2-5], so a machine back a day later does not brew
 * yesterday's recipe or reboot for no reason. Ten minutes outlasts the longest wait for an answer
 * (60 s) and a reboot or a flaky link; 0 means never expires. wipe-local-data never expires by
 * default: an erasure must reach the machine whenever it comes back (within its session's life).
 * 3.1.1 has no message expiry; brokers drop expired messages for 3.1.1 subscribers all the same.
 */
export const commandsConfigSchema = z.object({
  expirySeconds: z.int().min(0).max(0xffff_fffe).default(600),
  expiryByCommand: z.partialRecord(commandNameV1Schema, z.int().min(0).max(0xffff_fffe)).default({ 'wipe-local-data': 0 }),
});
export type CommandsConfig = z.infer<typeof commandsConfigSchema>;

/** The expiry a command goes out with; undefined = none (the property is left out). */
export function commandExpirySeconds(config: CommandsConfig, name: CommandName): number | undefined {
  const seconds = config.expiryByCommand[name] ?? config.expirySeconds;
  return seconds === 0 ? undefined : seconds;
}

const days = z.number().positive();

/**
 * How long each category is kept, in days (fractions allowed, so tests and demos can use minutes).
 * Location is the most revealing, so it goes first; payments are kept for a quarter's bookkeeping;
 * quarantined refusals only as long as an operator needs to look at them.
 */
export const retentionDaysSchema = z.object({
  usage: days.default(365),
  location: days.default(30),
  payment: days.default(90),
  diagnostics: days.default(180),
  quarantine: days.default(30),
});
export type RetentionDays = z.infer<typeof retentionDaysSchema>;

export const privacyConfigSchema = z.object({
  /**
   * Region -> secret for owner pseudonyms (keyed hash). A region without one gets a random secret
   * generated once into `<dataDir>/pseudonym-<region>.key`.
   */
  pseudonymSecrets: z.record(regionIdSchema, z.string().min(32)).default({}),
  /**
   * Region -> file of the region's owner-key vault (SQLite), the keys owner names and contacts are
   * sealed under; `<dataDir>/keys-<region>.db` when not set. Never inside a region store, and kept out
   * of the stores' backups: erasure destroys a key here, and a key kept elsewhere outlives it.
   */
  keyVaults: z.record(regionIdSchema, z.string().min(1)).default({}),
  /**
   * The HMAC key of the audit chains; when not set, one is generated once into `<dataDir>/audit.key`.
   * It must not live in a store the chains cover, or whoever can write the store can re-sign it.
   */
  auditKey: z.string().min(32).optional(),
  /** Where each chain's signed head is written after appends (`audit-head-<store>.json`); dataDir when not set. */
  auditCheckpointDir: z.string().min(1).optional(),
  retention: retentionDaysSchema.prefault({}),
  /** Per-region overrides of single categories. */
  regionRetention: z.record(regionIdSchema, z.object(Object.fromEntries(RETENTION_CATEGORIES.map((c) => [c, days.optional()])))).default({}),
  /**
   * How often each process looks for consent changes and erasures made by other server processes
   * sharing its stores (their withdrawals take effect here within this time).
   */
  peerRefreshMs: z.int().min(50).default(500),
  /** How often the retention sweeper runs (it also runs at start and on POST /api/v1/retention/sweep). */
  sweepIntervalMs: z.int().min(1_000).default(3_600_000),
});
export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

/**
 * HTTP request rates, counted in fixed windows (@fastify/rate-limit). Every request counts against its
 * client address, with a token or without; a request with a valid token counts against the token as
 * well. The defaults sit far above what a dashboard (a few requests a second per tab) or a 10,000-device
 * provisioning run (about 30 a second here; a client that honours Retry-After just waits) needs, and
 * still stop one address or one leaked token from flooding the API.
 */
export const httpRateLimitSchema = z.object({
  windowMs: z.int().min(100).default(10_000),
  /** Requests per client address and window (IPv6 counted per /64). */
  perAddress: z.int().min(1).default(3_000),
  /** Requests per valid bearer token and window, from all addresses together. */
  perToken: z.int().min(1).default(3_000),
  /**
   * The broker's `POST /api/v1/broker/device-auth` with the broker token: one call per device login, so
   * a whole fleet reconnecting at once (10,000 devices) must fit. Its own bucket, not counted against
   * the broker's address, so a login storm never locks the dashboard out of the same host.
   */
  deviceAuthPerWindow: z.int().min(1).default(20_000),
  /** Client addresses remembered at once; the least recently seen is forgotten first (a bounded map). */
  trackedAddresses: z.int().min(100).default(10_000),
});
export type HttpRateLimitConfig = z.infer<typeof httpRateLimitSchema>;

/** Live streams (`GET /api/v1/stream`): each holds a socket and a live-feed subscriber until closed. */
export const httpStreamLimitsSchema = z.object({
  /** Streams one token may hold open (a few dashboard tabs); one more answers 429 STREAM_LIMIT_REACHED. */
  perToken: z.int().min(1).default(10),
  /** Streams the server serves at once; one more answers 503 STREAM_CAPACITY_REACHED. */
  total: z.int().min(1).default(100),
});
export type HttpStreamLimits = z.infer<typeof httpStreamLimitsSchema>;

/**
 * Transfer rules: by default nothing leaves a region's plane; each rule allows one named flow of
 * aggregates (schema/transfers.ts), audited in the source region's chain and counted in the report.
 */
export const transfersConfigSchema = z
  .object({
    rules: z.array(transferRuleSchema).default([]),
    /** How long a batch POST to a rule's destination may take before it counts as failed. */
    timeoutMs: z.int().min(1).default(10_000),
    /**
     * Buckets counting fewer than this are suppressed before a batch leaves the plane (a rule's own
     * minCount overrides it). 5 is a minimum cell size common in statistical disclosure control; a
     * bucket of 1-4 brews of one recipe on one day is likely one or two machines, so one or two
     * owners. Raise it for a small fleet or a finer rule; 1 sends every bucket.
     */
    minCount: minCountSchema.default(5),
  })
  .refine((t) => new Set(t.rules.map((r) => r.name)).size === t.rules.length, { message: 'transfer rule names must be unique', path: ['rules'] })
  .refine((t) => t.rules.every((r) => r.from !== r.to), { message: 'a transfer rule goes to another region or to global', path: ['rules'] });
export type TransfersConfig = z.infer<typeof transfersConfigSchema>;

/** API roles. A broker token is configured on its own (brokerToken); the others come from `tokens`. */
export const ROLES = ['admin', 'operator', 'auditor', 'broker'] as const;
export type Role = (typeof ROLES)[number];

/**
 * An extra bearer token. An operator is bound to one region (it cannot read or change another's
 * data); admins and auditors see every region. `subject` names the holder in the audit log.
 */
export const tokenConfigSchema = z
  .object({
    token: z.string().min(16),
    role: z.enum(['admin', 'operator', 'auditor']),
    region: regionIdSchema.optional(),
    subject: z.string().min(1).max(64).optional(),
  })
  .refine((t) => (t.role === 'operator') === (t.region !== undefined), {
    message: 'an operator token needs a region, and only an operator token may have one',
    path: ['region'],
  });
export type TokenConfig = z.infer<typeof tokenConfigSchema>;

/** The edge's spelling of a token: `ROLE:TOKEN` or `operator:REGION:TOKEN` (flags, env lists). */
export function parseTokenSpec(spec: string): TokenConfig {
  const parts = spec.split(':');
  const [role, region, token] = parts.length === 3 ? parts : [parts[0], undefined, parts[1]];
  if (parts.length < 2 || parts.length > 3) throw new Error('a token is ROLE:TOKEN or operator:REGION:TOKEN');
  const parsed = tokenConfigSchema.safeParse(region === undefined ? { role, token } : { role, region, token });
  // Names the role only when it is one: a spec written the wrong way round starts with the token.
  const known = ROLES.find((r) => r === role);
  if (!parsed.success) throw new Error(`${known ? `${known} token` : 'token'}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/**
 * The server's one configuration object, validated at the edge (flags and env are read only in
 * main.ts) and passed down explicitly.
 */
export const serverConfigSchema = z
  .object({
    regions: regionListSchema.default([...DEFAULT_REGIONS]),
    /** Where the embedded SQLite stores live when no URL is given for a region. */
    dataDir: z.string().default('data'),
    /** Region -> store URL: `file:path.db` (SQLite) or `postgresql://...`. Missing regions get SQLite under dataDir. */
    stores: z.record(regionIdSchema, z.string()).default({}),
    /** The global directory (device id -> region); SQLite under dataDir unless set. */
    directoryUrl: z.string().optional(),
    /**
     * The file holding the key device secrets are hashed under (HMAC-SHA-256);
     * `<dataDir>/device-secrets.key` when not set, created 0600 on first start. Never inside a store,
     * and backed up apart from the stores: without it no device can log in.
     */
    deviceSecretKeyFile: z.string().min(1).optional(),
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8080),
        rateLimit: httpRateLimitSchema.prefault({}),
        streams: httpStreamLimitsSchema.prefault({}),
      })
      .prefault({}),
    /** The broker ingest subscribes to; may be left out and given later through attachIngest(). */
    mqtt: mqttConfigSchema.optional(),
    /** Keep a Mosquitto broker's password and ACL files in step with the registry; null: the broker asks the registry itself (ours). */
    mosquitto: mosquittoConfigSchema.nullable().default(null),
    /**
     * This server is a regional plane (docs/planes.md) and the global directory routes to it: after an
     * erasure it removes the erased devices' entries there, with the plane's token at the directory.
     * Null: no directory beside this server's own.
     */
    globalDirectory: z
      .object({ url: z.url(), token: z.string().min(16), timeoutMs: z.int().min(1).default(5_000) })
      .nullable()
      .default(null),
    /** Bearer token with the admin role. */
    adminToken: z.string().min(16),
    /** Bearer token the broker presents when it asks whether a device secret is valid. */
    brokerToken: z.string().min(16),
    /** More tokens: operators (one region each), auditors, further admins. */
    tokens: z.array(tokenConfigSchema).default([]),
    ingest: z
      .object({
        /** Most events written in one transaction. */
        batchMax: z.int().min(1).default(500),
        /** How long a batch may wait for more events before it is written. */
        lingerMs: z.int().min(0).default(2),
        /** First wait before a failed store write is retried; doubles up to retryMaxMs. */
        retryInitialMs: z.int().min(1).default(100),
        retryMaxMs: z.int().min(1).default(5_000),
        /**
         * Messages of one region inside ingest at once; beyond it that region's messages stay at the
         * broker until its store catches up, so a slow or dead store cannot hold every region's memory.
         */
        regionInFlightMax: z.int().min(1).default(5_000),
        /**
         * Keep refused payloads in the sender's home-region quarantine for operators to inspect. Off by
         * default: a refused payload may carry exactly the personal data that was refused (leaky
         * firmware sends owner names), and the default stores nothing that was not consented.
         */
        quarantinePayloads: z.boolean().default(false),
        /** On close, how long in-flight batches may take to commit before their messages are left unacknowledged. */
        drainTimeoutMs: z.int().min(0).default(5_000),
        /**
         * How far a device clock (`ts`) may run ahead of the server's receive time, and lag behind it;
         * events outside are refused as clock_out_of_range. A day ahead covers a local time sent as UTC;
         * a month behind covers what an offline buffer still holds. The launcher widens it for its
         * accelerated demo clocks. Stored timestamps stay within years 0000-9999 UTC whatever is set.
         */
        clockAheadMs: z.int().min(0).max(MAX_CLOCK_WINDOW_MS).default(86_400_000),
        clockBehindMs: z
          .int()
          .min(0)
          .max(MAX_CLOCK_WINDOW_MS)
          .default(30 * 86_400_000),
        /** Quarantine rows kept per device per clock hour; refusals past it are still answered and counted, not written. */
        quarantinePerDeviceHour: z.int().min(0).default(100),
        /** Devices the quarantine cap tracks per hour; devices beyond it share one bucket, so memory stays bounded. */
        quarantineTrackedDevices: z.int().min(1).default(100_000),
      })
      .prefault({}),
    privacy: privacyConfigSchema.prefault({}),
    /**
     * Device secret checks the broker asks for (POST /api/v1/broker/device-auth): at most maxConcurrent
     * at once (a directory read and an HMAC each, microseconds of CPU) and maxQueued waiting; more are
     * answered 503 AUTH_BUSY at once. maxQueued holds a fleet's reconnect storm (a broker sends up to
     * its authChecks.maxConcurrent batches of 200 at once, 6,400 items by default), so the broker's own
     * bound is the one a storm meets. A device still stored under the old scrypt hash costs one slow
     * hash on libuv's thread pool until its next good login rewrites it: those run at most
     * scryptMaxConcurrent at once, scryptMaxQueued waiting.
     */
    brokerAuth: z
      .object({
        maxConcurrent: z.int().min(1).default(64),
        maxQueued: z.int().min(0).default(10_000),
        scryptMaxConcurrent: z.int().min(1).default(2),
        scryptMaxQueued: z.int().min(0).default(64),
      })
      .prefault({}),
    /**
     * What the dashboard tells its users about the deployment around this server, when the process
     * that started it knows (the launcher does): the MQTT address devices use, for the demo command,
     * and how much faster than real time simulated device clocks run, to label event times.
     */
    dashboard: z
      .object({
        mqttUrl: z.string().optional(),
        simulatedSpeed: z.number().positive().optional(),
      })
      .prefault({}),
    commands: commandsConfigSchema.prefault({}),
    /** How long a request waits for the broker to acknowledge a retained consent record before answering anyway. */
    consentPublishTimeoutMs: z.int().min(0).default(2_000),
    /** A store that does not answer a health ping within this time is reported down. */
    healthTimeoutMs: z.int().min(1).default(1_000),
    logLevel: logLevelSchema.default('info'),
    transfers: transfersConfigSchema.prefault({}),
  })
  .refine((c) => Object.keys(c.stores).every((r) => c.regions.includes(r)), {
    message: 'every store URL must belong to a configured region',
    path: ['stores'],
  })
  .refine((c) => c.tokens.every((t) => t.region === undefined || c.regions.includes(t.region)), {
    message: "an operator token's region must be a configured region",
    path: ['tokens'],
  })
  .refine((c) => c.transfers.rules.every((r) => c.regions.includes(r.from)), {
    message: "a transfer rule's source must be one of this server's regions",
    path: ['transfers', 'rules'],
  })
  .refine((c) => c.mosquitto === null || c.mqtt === undefined || c.mqtt.username.startsWith('svc-'), {
    message: 'with Mosquitto the ingest account must be a svc- name, which no device id can take',
    path: ['mqtt', 'username'],
  });
export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type ServerConfigInput = z.input<typeof serverConfigSchema>;
