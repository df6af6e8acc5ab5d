import { z } from 'zod';

/**
 * Everything the broker needs, validated once at the edge and passed down. Ports of 0 pick a free
 * port; a null port switches that listener off.
 */
export const serviceAccountSchema = z.object({
  username: z.string().min(1).regex(/^svc-[a-z0-9-]+$/, 'service account names start with svc- so they never collide with device ids'),
  password: z.string().min(16),
  /** `ingest`: reads every device's events and state, writes consent and commands. */
  role: z.enum(['ingest']),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

export const brokerConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  tcpPort: z.int().min(0).max(65535).default(1883),
  wsPort: z.int().min(0).max(65535).nullable().default(8083),
  serviceAccounts: z.array(serviceAccountSchema).default([]),
  /** Devices are checked against the server's registry over HTTP, as EMQX and VerneMQ webhooks do. */
  deviceAuth: z.object({
    url: z.url(),
    token: z.string().min(16),
    /** A verified (device, secret) pair is remembered this long, so reconnect storms stay cheap. */
    cacheTtlMs: z.int().min(0).default(5 * 60_000),
    timeoutMs: z.int().min(1).default(5_000),
  }),
  /**
   * Largest MQTT packet (fixed header included) a client may send; aedes has no cap of its own, so a
   * larger one would be buffered whole. A connection announcing a bigger packet is dropped.
   */
  maxPacketBytes: z.int().min(1024).max(268_435_460).default(256 * 1024),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type BrokerConfig = z.infer<typeof brokerConfigSchema>;
export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
