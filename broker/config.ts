import { z } from 'zod';
import { DEVICE_AUTH_BATCH_MAX } from '../schema/api.ts';
import type { Identity } from './identity.ts';
import { logLevelSchema } from '../schema/log-level.ts';
import { regionIdSchema } from '../schema/regions.ts';

/**
 * Where the redirect hook sends a client: `serverReference` alone (or a plain string) for CONNACK
 * 0x9C, use another server for now; with `moved: true` CONNACK 0x9D, server moved, from now on
 * (v5 §4.11). Our devices follow a reference that is a broker URL (`mqtt://host:port`, `mqtts://…`,
 * `ws://…/mqtt`, `wss://…`); the spec leaves its format open.
 */
export type Redirect = string | { serverReference: string; moved?: boolean };

/**
 * Asked after a client authenticated: a Redirect sends an MQTT 5 client elsewhere with CONNACK 0x9C
 * or 0x9D and the Server Reference, a 3.1.1 client is refused with CONNACK 3; null lets it in. Set in
 * code only (the regional planes use it to send a device to its home plane); a hook that throws
 * refuses the login as "server unavailable".
 */
export type RedirectHook = (identity: Identity) => Redirect | null | Promise<Redirect | null>;

/**
 * Everything the broker needs, validated once at the edge and passed down. Ports of 0 pick a free
 * port; a null port (or a null `tls`) switches that listener off. At least one MQTT listener stays on.
 */
export const serviceAccountSchema = z.object({
  username: z
    .string()
    .min(1)
    .regex(/^svc-[a-z0-9-]+$/, 'service account names start with svc- so they never collide with device ids'),
  password: z.string().min(16),
  /** `ingest`: reads every device's events and state, writes consent and commands. */
  role: z.enum(['ingest']),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

/**
 * The regional plane this broker belongs to (docs/planes.md). A device login this plane's registry
 * refuses as unknown is looked up in the global directory: a device at home in another plane is sent
 * there (MQTT 5: CONNACK 0x9C with that plane's MQTT URL as Server Reference; 3.1.1: CONNACK 3) and
 * nothing it sends is accepted here. Unknown to the directory too, or no answer from it: the usual
 * refusal. Null (the default): no directory, every unknown device is simply refused.
 */
export const planeSchema = z.object({
  /** This plane's region: a directory answer naming it is no reason to redirect. */
  region: regionIdSchema,
  directory: z.object({
    /** The directory's base URL; lookups go to `{url}/api/v1/directory/devices/{deviceId}`. */
    url: z.url(),
    /** Bearer token for the directory. */
    token: z.string().min(16),
    /** One lookup's deadline, the wait for a free request slot included. */
    timeoutMs: z.int().min(1).default(2_000),
    /** How long an answer (home plane, or unknown) is remembered; 0 asks every time. */
    cacheTtlMs: z.int().min(0).default(60_000),
    /** Devices remembered at most; the oldest go first. */
    cacheMax: z.int().min(1).default(10_000),
    /** Requests to the directory at once, and lookups waiting for one; more are refused as if it were down. */
    maxConcurrent: z.int().min(1).default(8),
    maxQueued: z.int().min(0).default(1_000),
  }),
});
export type PlaneConfig = z.infer<typeof planeSchema>;
export type PlaneConfigInput = z.input<typeof planeSchema>;

/**
 * What an operator tunes on any broker process, the standalone one (broker/main.ts) and the one
 * `npm start` embeds alike: the TLS listener, limits, metrics and cluster mode.
 */
export const brokerOptionsSchema = z.object({
  /**
   * MQTT over TLS, certificate and key read from PEM files (broker/dev-ca.sh makes a development set).
   * With caFile, clients may present a certificate issued by that CA: its CN is taken as the device
   * id, without a password. Clients without one still log in with their secret.
   */
  tls: z
    .object({
      port: z.int().min(0).max(65535).default(8883),
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
      caFile: z.string().min(1).nullable().default(null),
    })
    .nullable()
    .default(null),
  /**
   * Largest MQTT packet (fixed header included) a client may send; aedes has no cap of its own, so a
   * larger one would be buffered whole. A connection announcing a bigger packet is dropped.
   */
  maxPacketBytes: z
    .int()
    .min(1024)
    .max(268_435_460)
    .default(256 * 1024),
  /**
   * Broken or hostile clients are disconnected with a named reason (logged and counted per reason,
   * never with a payload). MQTT 3.1.1 has no DISCONNECT from the server, so the reason lives in the
   * broker's log and metrics; a refused connection gets CONNACK 3 (server unavailable).
   */
  limits: z
    .object({
      /** Authenticated clients at once; the next CONNECT is refused. */
      maxConnections: z.int().min(1).default(10_000),
      /**
       * Sustained PUBLISH packets per second per device client, and the burst above it one may send.
       * Service accounts are not limited: the server publishes for every device of the fleet.
       */
      publishPerSecond: z.number().positive().default(200),
      publishBurst: z.int().min(1).default(2_000),
      /**
       * QoS 2 PUBLISH packets from one client held without their PUBREL, what MQTT 5 calls Receive
       * Maximum (aedes' maxInflightInbound). QoS 1 from a client needs no cap: the broker answers
       * PUBACK and stops reading that socket until the packets it read are handed on, so TCP holds
       * the rest back.
       */
      maxInFlightIn: z.int().min(1).default(1_000),
      /**
       * The same QoS 2 publishes counted in bytes (payload and topic): the count alone lets a client
       * hold maxInFlightIn packets of maxPacketBytes each. At least maxPacketBytes, so one packet always fits.
       */
      maxInFlightInBytes: z
        .int()
        .min(1024)
        .default(1024 * 1024),
      /**
       * QoS 1/2 messages delivered to one client and not yet acknowledged. Above it the client is cut
       * off; a persistent session keeps them and gets them again (DUP set) when it comes back. The
       * default is the packet identifier space: more unacknowledged messages could not be told apart.
       */
      maxInFlightOut: z.int().min(1).max(65_535).default(65_535),
      /**
       * MQTT 5 Topic Alias Maximum announced in CONNACK: how many topic aliases a client may set up
       * on one connection (0: none). A device has about ten topics (five event kinds, state, four
       * command results); aliases replace each topic by two bytes after its first use.
       */
      topicAliasMaximum: z.int().min(0).max(65_535).default(16),
      /**
       * Longest MQTT 5 Session Expiry Interval granted, in seconds (a longer one, "never" included,
       * is cut to this and the CONNACK says so). 30 days: ingest refuses events older than that
       * anyway (ingest.clockBehindMs). 0 grants any interval. 3.1.1 persistent sessions never expire.
       */
      maxSessionExpirySeconds: z
        .int()
        .min(0)
        .max(0xffff_ffff)
        .default(30 * 24 * 3600),
    })
    .prefault({}),
  /**
   * A source (address + username) that keeps failing authentication is slowed down, then refused for
   * a while; so is an address whose failures across all usernames pass the address thresholds (a
   * guesser rotating usernames). The address thresholds are higher, since many devices may share one
   * address behind a NAT; refused attempts are not failures, so one broken device adds at most
   * refuseAfter failures per refusal period to its address.
   */
  authThrottle: z
    .object({
      slowAfter: z.int().min(1).default(5),
      delayMs: z.int().min(0).default(250),
      maxDelayMs: z.int().min(0).default(5_000),
      refuseAfter: z.int().min(1).default(20),
      refuseMs: z
        .int()
        .min(0)
        .default(5 * 60_000),
      windowMs: z
        .int()
        .min(1)
        .default(10 * 60_000),
      /** Keys remembered per throttle (address + username, and address); the oldest go first. */
      maxKeys: z.int().min(1).default(100_000),
      addressSlowAfter: z.int().min(1).default(50),
      addressRefuseAfter: z.int().min(1).default(200),
    })
    .prefault({}),
  /**
   * What a device login may cost. A secret check is an HTTP request to the registry: at most
   * maxConcurrent requests run at once, up to maxQueued CONNECTs wait (each no longer than
   * deviceAuth.timeoutMs) and the rest get CONNACK 3 at once; those that arrive in one turn of the
   * event loop, or waited, share requests (batchMax). A pair the registry just refused is refused
   * again from memory for negativeCacheMs without asking it. maxQueued is as large as the default
   * maxConnections: a restarted broker reads the CONNECTs of thousands of returning devices in its
   * first turns, and refusing them (0x89) only sends them into a longer backoff, while a waiting
   * login holds a callback besides the connection it already is, and its wait is bounded.
   */
  authChecks: z
    .object({
      maxConcurrent: z.int().min(1).default(32),
      maxQueued: z.int().min(0).default(10_000),
      /**
       * Logins that waited for a slot go to the registry together, up to this many per request
       * (its `…/device-auth:batch` route); 1 sends each login alone to `deviceAuth.url`.
       */
      batchMax: z.int().min(1).max(DEVICE_AUTH_BATCH_MAX).default(DEVICE_AUTH_BATCH_MAX),
      negativeCacheMs: z.int().min(0).default(5_000),
      negativeCacheMax: z.int().min(1).default(10_000),
      /** Verified devices remembered at most (one entry per device); the oldest go first. */
      verifiedCacheMax: z.int().min(1).default(100_000),
    })
    .prefault({}),
  /**
   * Cluster mode: null runs one broker alone (state in memory); set, every broker with the same
   * Redis and key prefix shares subscriptions, retained messages, sessions and traffic.
   */
  cluster: z
    .object({
      redisUrl: z
        .string()
        .regex(/^rediss?:\/\//, 'a Redis URL such as redis://127.0.0.1:6379')
        .default('redis://127.0.0.1:6379'),
      keyPrefix: z
        .string()
        .regex(/^[A-Za-z0-9:_-]+$/)
        .default('brewtel:'),
    })
    .nullable()
    .default(null),
  /** Prometheus text at http://{host}:{metricsPort}/metrics; null switches the listener off. */
  metricsPort: z.int().min(0).max(65535).nullable().default(null),
  plane: planeSchema.nullable().default(null),
});
export type BrokerOptionsInput = z.input<typeof brokerOptionsSchema>;

export const brokerConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    tcpPort: z.int().min(0).max(65535).nullable().default(1883),
    wsPort: z.int().min(0).max(65535).nullable().default(8083),
    serviceAccounts: z.array(serviceAccountSchema).default([]),
    /**
     * Devices are checked against the server's registry over HTTP, as EMQX and VerneMQ webhooks do.
     * Required, except in the unsafe permissive test mode, which checks nobody.
     */
    deviceAuth: z
      .object({
        url: z.url(),
        token: z.string().min(16),
        /** A verified (device, secret) pair is remembered this long, so reconnect storms stay cheap. */
        cacheTtlMs: z
          .int()
          .min(0)
          .default(5 * 60_000),
        timeoutMs: z.int().min(1).default(5_000),
        /**
         * Where a client-certificate login asks whether its device exists and is not revoked; by
         * default `device-certificate` next to `url` (…/api/v1/broker/device-certificate).
         */
        certificateUrl: z.url().optional(),
      })
      .nullable()
      .default(null),
    ...brokerOptionsSchema.shape,
    redirect: z
      .custom<RedirectHook>((value) => typeof value === 'function', 'a function (identity) => server reference | null')
      .nullable()
      .default(null),
    /**
     * For protocol test suites written by others, never for devices: anonymous clients, every topic,
     * no device registry. Refused on any address but loopback (broker/permissive-test-mode.ts).
     */
    unsafePermissiveTestMode: z.boolean().default(false),
    logLevel: logLevelSchema.default('info'),
  })
  .refine((c) => c.deviceAuth !== null || c.unsafePermissiveTestMode, {
    message: "the device check is required (the server's device-auth URL)",
    path: ['deviceAuth', 'url'],
  })
  .refine((c) => c.tcpPort !== null || c.wsPort !== null || c.tls !== null, {
    message: 'every MQTT listener is off; keep at least one of TCP, WebSocket, TLS',
    path: ['tcpPort'],
  })
  .refine((c) => c.limits.maxInFlightInBytes >= c.maxPacketBytes, {
    message: 'must be at least --max-packet-bytes, so one packet always fits',
    path: ['limits', 'maxInFlightInBytes'],
  });
export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
