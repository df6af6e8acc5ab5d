import { readFlags, type Env, type FlagResult } from '../cli/flags.ts';
import { brokerConfigSchema, type BrokerConfig, type BrokerConfigInput, type BrokerOptionsInput } from './config.ts';

/** The options every broker process takes, standalone or embedded by `npm start` (see launcher/flags.ts). */
export const BROKER_OPTIONS_USAGE = `  --tls-port PORT|off         MQTT over TLS (default 8883 when --tls-cert is given; off without it)
  --tls-cert FILE, --tls-key FILE
                              the listener's certificate and key, PEM (broker/dev-ca.sh DIR makes a dev set)
  --tls-ca FILE               accept client certificates from this CA; the CN is the device id
  --metrics-port PORT         Prometheus text at /metrics (off by default; 0 picks a free port)
  --cluster-redis URL         cluster mode: share sessions, retained messages and traffic with every
                              broker on this Redis (e.g. redis://127.0.0.1:6379)
  --cluster-prefix PREFIX     Redis key and channel prefix of the cluster (default brewtel:)
  --max-packet-bytes N        largest MQTT packet a client may send (default 262144)
  --max-connections N         authenticated clients at once; more get CONNACK 3 (default 10000)
  --publish-rate N            sustained PUBLISH per second per client (default 200) ...
  --publish-burst N           ... with this burst above it (default 2000); faster clients are cut off
  --max-inflight-in N         QoS 2 publishes a client may leave without PUBREL (default 1000) ...
  --max-inflight-in-bytes N   ... and their bytes, payload and topic (default 1048576)
  --max-inflight-out N        QoS 1/2 deliveries a client may leave unacknowledged (default 65535)
  --topic-alias-max N         MQTT 5 topic aliases a client may set up per connection (default 16; 0: none)
  --max-session-expiry S      longest MQTT 5 session expiry granted, seconds (default 2592000 = 30 days; 0: any)
  --auth-slow-after N         failed logins from one address + username before answers slow down (default 5)
  --auth-refuse-after N       ... before that source is refused unchecked (default 20) ...
  --auth-refuse-ms N          ... for this long (default 300000)
  --auth-address-slow-after N failed logins from one address, any username, before answers slow down (default 50)
  --auth-address-refuse-after N  ... before that address is refused unchecked (default 200)
  --auth-max-concurrent N     requests to the registry at once (default 32) ...
  --auth-max-queued N         ... CONNECTs waiting for one; more get CONNACK 3 (default 10000)
  --auth-batch-max N          ... those of one turn, or that waited, go up to N per request to …/device-auth:batch (default 200; 1: one request per login)
  --auth-negative-cache-ms N  a device + secret the registry just refused is refused from memory this long (default 5000)
  --auth-negative-cache-max N ... for at most this many pairs (default 10000)
  --auth-cache-max N          verified devices remembered at most (default 100000)`;

export const USAGE = `Usage: brewtel broker [options]   (in the repository: npx tsx broker/main.ts [options])

Runs the brewtel MQTT broker alone (aedes 2; MQTT 3.1.1 and 5 over TCP, WebSocket and TLS, deny by default).

  --host ADDRESS              address to listen on (default 127.0.0.1)
  --port PORT|off             MQTT over TCP (default 1883; 0 picks a free port)
  --ws-port PORT|off          MQTT over WebSocket (default 8083; 0 picks a free port)
${BROKER_OPTIONS_USAGE}
  --device-auth-url URL       the server's device check, e.g. http://127.0.0.1:8080/api/v1/broker/device-auth
  --device-auth-token TOKEN   bearer token for that check (or BREWTEL_DEVICE_AUTH_TOKEN)
  --device-certificate-url URL  where a client-certificate login asks whether its device exists and is
                              not revoked (default: device-certificate next to --device-auth-url)
  --plane-region REGION       this broker is REGION's plane (docs/planes.md): a device this plane's
                              registry does not know is looked up in the directory and, if it lives
                              in another plane, sent there (MQTT 5: CONNACK 0x9C + Server Reference;
                              3.1.1: CONNACK 3); needs --directory-url
  --directory-url URL         the plane directory's base URL (GET URL/api/v1/directory/devices/ID)
  --directory-token TOKEN     bearer token for the directory (or BREWTEL_DIRECTORY_TOKEN)
  --directory-timeout-ms N    one lookup's deadline (default 2000)
  --directory-cache-ms N      how long a lookup's answer is remembered (default 60000; 0: never)
  --service-account NAME:PW   a service account with the ingest role; repeatable
                              (or BREWTEL_SERVICE_ACCOUNTS=NAME:PW,NAME:PW)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
  --unsafe-permissive-test-mode
                              UNSAFE, for protocol test suites only: anonymous clients, every topic, no
                              device check; refused unless --host is a loopback address
  -h, --help                  this text

Passwords and tokens given as flags are visible to other local users in the process list; prefer
the environment variables outside a laptop.`;

/** parseArgs descriptors of BROKER_OPTIONS_USAGE, for every command line that starts a broker. */
export const BROKER_OPTION_FLAGS = {
  'tls-port': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'metrics-port': { type: 'string' },
  'cluster-redis': { type: 'string' },
  'cluster-prefix': { type: 'string' },
  'max-packet-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  'publish-rate': { type: 'string' },
  'publish-burst': { type: 'string' },
  'max-inflight-in': { type: 'string' },
  'max-inflight-out': { type: 'string' },
  'topic-alias-max': { type: 'string' },
  'max-session-expiry': { type: 'string' },
  'auth-slow-after': { type: 'string' },
  'auth-refuse-after': { type: 'string' },
  'auth-refuse-ms': { type: 'string' },
  'max-inflight-in-bytes': { type: 'string' },
  'auth-address-slow-after': { type: 'string' },
  'auth-address-refuse-after': { type: 'string' },
  'auth-max-concurrent': { type: 'string' },
  'auth-max-queued': { type: 'string' },
  'auth-batch-max': { type: 'string' },
  'auth-negative-cache-ms': { type: 'string' },
  'auth-negative-cache-max': { type: 'string' },
  'auth-cache-max': { type: 'string' },
} as const;

type OptionValues = { [K in keyof typeof BROKER_OPTION_FLAGS]?: string | undefined };

/** The broker options as given; the schema fills in defaults and rejects bad values. */
export function brokerOptionsFromFlags(values: OptionValues): BrokerOptionsInput {
  const tlsOff = values['tls-port'] === 'off' || (values['tls-cert'] === undefined && values['tls-key'] === undefined);
  return {
    tls: tlsOff
      ? null
      : { port: integer(values['tls-port']), certFile: values['tls-cert'] ?? '', keyFile: values['tls-key'] ?? '', caFile: values['tls-ca'] ?? null },
    cluster: values['cluster-redis'] === undefined ? null : { redisUrl: values['cluster-redis'], keyPrefix: values['cluster-prefix'] },
    metricsPort: values['metrics-port'] === undefined || values['metrics-port'] === 'off' ? null : integer(values['metrics-port']),
    maxPacketBytes: integer(values['max-packet-bytes']),
    limits: {
      maxConnections: integer(values['max-connections']),
      publishPerSecond: decimal(values['publish-rate']),
      publishBurst: integer(values['publish-burst']),
      maxInFlightIn: integer(values['max-inflight-in']),
      maxInFlightInBytes: integer(values['max-inflight-in-bytes']),
      maxInFlightOut: integer(values['max-inflight-out']),
      topicAliasMaximum: integer(values['topic-alias-max']),
      maxSessionExpirySeconds: integer(values['max-session-expiry']),
    },
    authThrottle: {
      slowAfter: integer(values['auth-slow-after']),
      refuseAfter: integer(values['auth-refuse-after']),
      refuseMs: integer(values['auth-refuse-ms']),
      addressSlowAfter: integer(values['auth-address-slow-after']),
      addressRefuseAfter: integer(values['auth-address-refuse-after']),
    },
    authChecks: {
      maxConcurrent: integer(values['auth-max-concurrent']),
      maxQueued: integer(values['auth-max-queued']),
      batchMax: integer(values['auth-batch-max']),
      negativeCacheMs: integer(values['auth-negative-cache-ms']),
      negativeCacheMax: integer(values['auth-negative-cache-max']),
      verifiedCacheMax: integer(values['auth-cache-max']),
    },
  };
}

/** The flag a user types for a config field path (e.g. ['limits', 'maxConnections']), for error lines. */
export function flagOfField(path: readonly PropertyKey[]): string {
  const field = path.filter((p) => typeof p === 'string').join('.');
  return FLAG_OF_FIELD[field] ?? field;
}

/** The edge: argv and env in, one validated config (or a one-line error) out. */
export function readBrokerConfig(argv: readonly string[], env: Env): FlagResult<BrokerConfig> {
  const flags = readFlags(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    'ws-port': { type: 'string' },
    ...BROKER_OPTION_FLAGS,
    'device-auth-url': { type: 'string' },
    'device-auth-token': { type: 'string' },
    'device-certificate-url': { type: 'string' },
    'plane-region': { type: 'string' },
    'directory-url': { type: 'string' },
    'directory-token': { type: 'string' },
    'directory-timeout-ms': { type: 'string' },
    'directory-cache-ms': { type: 'string' },
    'service-account': { type: 'string', multiple: true },
    'log-level': { type: 'string' },
    'unsafe-permissive-test-mode': { type: 'boolean' },
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;

  const accounts = [...(env.BREWTEL_SERVICE_ACCOUNTS?.split(',').filter(Boolean) ?? []), ...(values['service-account'] ?? [])];
  const permissive = values['unsafe-permissive-test-mode'] === true;
  const input: BrokerConfigInput = {
    host: values.host,
    tcpPort: values.port === 'off' ? null : integer(values.port),
    wsPort: values['ws-port'] === 'off' ? null : integer(values['ws-port']),
    ...brokerOptionsFromFlags(values),
    serviceAccounts: accounts.map(serviceAccount),
    // The permissive mode checks no device: without a registry URL there is none to ask.
    deviceAuth:
      permissive && values['device-auth-url'] === undefined
        ? null
        : {
            url: values['device-auth-url'] ?? '',
            token: values['device-auth-token'] ?? env.BREWTEL_DEVICE_AUTH_TOKEN ?? '',
            ...(values['device-certificate-url'] === undefined ? {} : { certificateUrl: values['device-certificate-url'] }),
          },
    plane: planeFromFlags(values, env),
    unsafePermissiveTestMode: permissive,
    logLevel: values['log-level'] as BrokerConfigInput['logLevel'],
  };
  const parsed = brokerConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = (issue?.path ?? []).filter((p) => typeof p === 'string');
    // serviceAccounts.3.password names the flag, not the field inside one account.
    return { help: false, error: `${flagOfField(path[0] === 'serviceAccounts' ? ['serviceAccounts'] : path)}: ${issue?.message ?? 'invalid'}` };
  }
  return { help: false, config: parsed.data };
}

const FLAG_OF_FIELD: Record<string, string> = {
  host: '--host',
  tcpPort: '--port',
  wsPort: '--ws-port',
  'deviceAuth.url': '--device-auth-url',
  'deviceAuth.token': '--device-auth-token',
  'deviceAuth.certificateUrl': '--device-certificate-url',
  'plane.region': '--plane-region',
  'plane.directory.url': '--directory-url',
  'plane.directory.token': '--directory-token',
  'plane.directory.timeoutMs': '--directory-timeout-ms',
  'plane.directory.cacheTtlMs': '--directory-cache-ms',
  serviceAccounts: '--service-account',
  'tls.port': '--tls-port',
  'tls.certFile': '--tls-cert',
  'tls.keyFile': '--tls-key',
  'tls.caFile': '--tls-ca',
  metricsPort: '--metrics-port',
  'cluster.redisUrl': '--cluster-redis',
  'cluster.keyPrefix': '--cluster-prefix',
  maxPacketBytes: '--max-packet-bytes',
  'limits.maxConnections': '--max-connections',
  'limits.publishPerSecond': '--publish-rate',
  'limits.publishBurst': '--publish-burst',
  'limits.maxInFlightIn': '--max-inflight-in',
  'limits.maxInFlightInBytes': '--max-inflight-in-bytes',
  'limits.maxInFlightOut': '--max-inflight-out',
  'limits.topicAliasMaximum': '--topic-alias-max',
  'limits.maxSessionExpirySeconds': '--max-session-expiry',
  'authThrottle.slowAfter': '--auth-slow-after',
  'authThrottle.refuseAfter': '--auth-refuse-after',
  'authThrottle.refuseMs': '--auth-refuse-ms',
  'authThrottle.addressSlowAfter': '--auth-address-slow-after',
  'authThrottle.addressRefuseAfter': '--auth-address-refuse-after',
  'authChecks.maxConcurrent': '--auth-max-concurrent',
  'authChecks.maxQueued': '--auth-max-queued',
  'authChecks.batchMax': '--auth-batch-max',
  'authChecks.negativeCacheMs': '--auth-negative-cache-ms',
  'authChecks.negativeCacheMax': '--auth-negative-cache-max',
  'authChecks.verifiedCacheMax': '--auth-cache-max',
  logLevel: '--log-level',
};

type PlaneFlags = Partial<Record<'plane-region' | 'directory-url' | 'directory-token' | 'directory-timeout-ms' | 'directory-cache-ms', string>>;

/** No plane unless a region or a directory is named; one without the other is an error the schema reports. */
function planeFromFlags(values: PlaneFlags, env: Env): BrokerConfigInput['plane'] {
  if (values['plane-region'] === undefined && values['directory-url'] === undefined) return null;
  return {
    region: values['plane-region'] ?? '',
    directory: {
      url: values['directory-url'] ?? '',
      token: values['directory-token'] ?? env.BREWTEL_DIRECTORY_TOKEN ?? '',
      timeoutMs: integer(values['directory-timeout-ms']),
      cacheTtlMs: integer(values['directory-cache-ms']),
    },
  };
}

/** Leaves anything that is not a plain integer for the schema to reject with its own message. */
function integer(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

function decimal(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
}

function serviceAccount(spec: string): { username: string; password: string; role: 'ingest' } {
  const colon = spec.indexOf(':');
  return colon < 0 ? { username: spec, password: '', role: 'ingest' } : { username: spec.slice(0, colon), password: spec.slice(colon + 1), role: 'ingest' };
}
