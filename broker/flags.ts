import { parseArgs } from 'node:util';
import { brokerConfigSchema, type BrokerConfig, type BrokerConfigInput } from './config.ts';

export const USAGE = `Usage: tsx broker/main.ts [options]

Runs the brewtel MQTT broker alone (aedes; MQTT 3.1.1 over TCP and WebSocket, deny by default).

  --host ADDRESS              address to listen on (default 127.0.0.1)
  --port PORT                 MQTT over TCP (default 1883; 0 picks a free port)
  --ws-port PORT|off          MQTT over WebSocket (default 8083; 0 picks a free port)
  --tls-port PORT             MQTT over TLS (default 8883 when --tls-cert is given; off without it)
  --tls-cert FILE, --tls-key FILE
                              the listener's certificate and key, PEM (broker/dev-ca.sh DIR makes a dev set)
  --tls-ca FILE               accept client certificates from this CA; the CN is the device id
  --cluster-redis URL         cluster mode: share sessions, retained messages and traffic with every
                              broker on this Redis (e.g. redis://127.0.0.1:6379)
  --cluster-prefix PREFIX     Redis key and channel prefix of the cluster (default brewtel:)
  --metrics-port PORT         Prometheus text at /metrics (off by default; 0 picks a free port)
  --device-auth-url URL       the server's device check, e.g. http://127.0.0.1:8080/api/v1/broker/device-auth
  --device-auth-token TOKEN   bearer token for that check (or BREWTEL_DEVICE_AUTH_TOKEN)
  --service-account NAME:PW   a service account with the ingest role; repeatable
                              (or BREWTEL_SERVICE_ACCOUNTS=NAME:PW,NAME:PW)
  --max-packet-bytes N        largest MQTT packet a client may send (default 262144)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help                  this text

Passwords and tokens given as flags are visible to other local users in the process list; prefer
the environment variables outside a laptop.`;

export type BrokerFlags = { help: true } | { help: false; config: BrokerConfig } | { help: false; error: string };

/** The edge: argv and env in, one validated config (or a one-line error) out. */
export function readBrokerConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BrokerFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'ws-port': { type: 'string' },
        'tls-port': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'metrics-port': { type: 'string' },
        'cluster-redis': { type: 'string' },
        'cluster-prefix': { type: 'string' },
        'device-auth-url': { type: 'string' },
        'device-auth-token': { type: 'string' },
        'service-account': { type: 'string', multiple: true },
        'max-packet-bytes': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { help: false, error: (error as Error).message };
  }
  if (values.help) return { help: true };

  const accounts = [...(env.BREWTEL_SERVICE_ACCOUNTS?.split(',').filter(Boolean) ?? []), ...(values['service-account'] ?? [])];
  const input: BrokerConfigInput = {
    host: values.host,
    tcpPort: integer(values.port),
    wsPort: values['ws-port'] === 'off' ? null : integer(values['ws-port']),
    tls: values['tls-cert'] === undefined && values['tls-key'] === undefined
      ? null
      : { port: integer(values['tls-port']), certFile: values['tls-cert'] ?? '', keyFile: values['tls-key'] ?? '', caFile: values['tls-ca'] ?? null },
    cluster: values['cluster-redis'] === undefined ? null : { redisUrl: values['cluster-redis'], keyPrefix: values['cluster-prefix'] },
    metricsPort: values['metrics-port'] === undefined ? null : integer(values['metrics-port']),
    serviceAccounts: accounts.map(serviceAccount),
    deviceAuth: {
      url: values['device-auth-url'] ?? '',
      token: values['device-auth-token'] ?? env.BREWTEL_DEVICE_AUTH_TOKEN ?? '',
    },
    maxPacketBytes: integer(values['max-packet-bytes']),
    logLevel: values['log-level'] as BrokerConfigInput['logLevel'],
  };
  const parsed = brokerConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    return { help: false, error: `${FLAG_OF_FIELD[field.replace(/\.\d+\..*$/, '')] ?? field}: ${issue?.message ?? 'invalid'}` };
  }
  return { help: false, config: parsed.data };
}

const FLAG_OF_FIELD: Record<string, string> = {
  host: '--host',
  tcpPort: '--port',
  wsPort: '--ws-port',
  'deviceAuth.url': '--device-auth-url',
  'deviceAuth.token': '--device-auth-token',
  serviceAccounts: '--service-account',
  'tls.port': '--tls-port',
  'tls.certFile': '--tls-cert',
  'tls.keyFile': '--tls-key',
  'tls.caFile': '--tls-ca',
  metricsPort: '--metrics-port',
  'cluster.redisUrl': '--cluster-redis',
  'cluster.keyPrefix': '--cluster-prefix',
  maxPacketBytes: '--max-packet-bytes',
  logLevel: '--log-level',
};

/** Leaves anything that is not a plain integer for the schema to reject with its own message. */
function integer(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : Number.NaN;
}

function serviceAccount(spec: string): { username: string; password: string; role: 'ingest' } {
  const colon = spec.indexOf(':');
  return colon < 0 ? { username: spec, password: '', role: 'ingest' } : { username: spec.slice(0, colon), password: spec.slice(colon + 1), role: 'ingest' };
}
