import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { readFlags, type Env, type FlagResult } from '../cli/flags.ts';
import { protocolLevelOf, type ProtocolVersion } from '../mqtt-wire/codes.ts';
import { parseTokenSpec, serverConfigSchema, type ServerConfig, type ServerConfigInput } from './config.ts';

export const USAGE = `Usage: brewtel server [options]   (in the repository: npx tsx server/main.ts [options])

Runs the server alone: HTTP API, dashboard, ingest from a broker, one store per region.

  --http-host H                 address of the HTTP listener (default 127.0.0.1)
  --http-port N                 HTTP API, docs, dashboard (default 8080; 0 picks a free port)
  --data-dir DIR                the SQLite stores, keys and audit heads (default data)
  --regions LIST                comma-separated regions (default eu,us,cn)
  --store REGION=URL            a region's store, file:… or postgresql://… (repeatable)
  --directory-url URL           the global directory's store (default SQLite in DATA-DIR)
  --mqtt-url URL                the broker ingest subscribes to (default mqtt://127.0.0.1:1883)
  --mqtt-username U, --mqtt-password P, --mqtt-client-id ID
                                its service account (default svc-ingest) and client id
  --mqtt-share-group G          take events through $share/G/…, for several servers on one broker
  --mqtt-version 3.1.1|5        ingest and outbound connection (default 5)
  --mosquitto-password-file F, --mosquitto-acl-file F, --mosquitto-pid-file F
                                keep a Mosquitto broker's password and ACL files in step with the
                                registry and SIGHUP the pid in F after each write (docs/planes.md)
  --token SPEC                  another API token, repeatable: operator:REGION:TOKEN, auditor:TOKEN, admin:TOKEN
  --clock-ahead-ms N, --clock-behind-ms N
                                the device-clock window
  --quarantine-per-device-hour N
                                quarantine rows kept per device and hour (default 100)
  --key-vault REGION=FILE       where the region's owner keys live (repeatable; default DATA-DIR/keys-REGION.db)
  --audit-checkpoint-dir DIR    the signed audit chain heads (default DATA-DIR)
  --log-level LEVEL             fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help                    this text

Environment: BREWTEL_ADMIN_TOKEN, BREWTEL_BROKER_TOKEN (generated and printed once when not set),
BREWTEL_TOKENS (like --token, comma-separated), BREWTEL_MQTT_URL, BREWTEL_MQTT_USERNAME,
BREWTEL_MQTT_PASSWORD, BREWTEL_AUDIT_KEY (the audit chains' HMAC key; default generated into
DATA-DIR/audit.key).`;

/** The validated config, and the `NAME=token` lines of the tokens made up because the environment had none. */
export interface ServerFlags {
  config: ServerConfig;
  generated: string[];
}

/** The edge: argv and env in, one validated config (or a one-line error naming the field) out. */
export function readServerConfig(argv: readonly string[], env: Env): FlagResult<ServerFlags> {
  const flags = readFlags(argv, {
    'http-host': { type: 'string' },
    'http-port': { type: 'string' },
    'data-dir': { type: 'string' },
    regions: { type: 'string' },
    store: { type: 'string', multiple: true },
    'directory-url': { type: 'string' },
    'mqtt-url': { type: 'string' },
    'mqtt-username': { type: 'string' },
    'mqtt-password': { type: 'string' },
    'mqtt-client-id': { type: 'string' },
    'mqtt-share-group': { type: 'string' },
    'mqtt-version': { type: 'string' },
    'mosquitto-password-file': { type: 'string' },
    'mosquitto-acl-file': { type: 'string' },
    'mosquitto-pid-file': { type: 'string' },
    'log-level': { type: 'string' },
    token: { type: 'string', multiple: true },
    'clock-ahead-ms': { type: 'string' },
    'clock-behind-ms': { type: 'string' },
    'quarantine-per-device-hour': { type: 'string' },
    'key-vault': { type: 'string', multiple: true },
    'audit-checkpoint-dir': { type: 'string' },
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;
  const generated: string[] = [];
  const tokenFromEnv = (name: string): string => {
    const value = env[name];
    if (value) return value;
    const token = randomBytes(24).toString('base64url');
    generated.push(`${name}=${token}`);
    return token;
  };
  let input: ServerConfigInput;
  try {
    input = {
      ...(values.regions ? { regions: values.regions.split(',').map((r) => r.trim()) } : {}),
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      stores: parsePairs(values.store ?? [], '--store', 'URL'),
      ...(values['directory-url'] ? { directoryUrl: values['directory-url'] } : {}),
      http: {
        ...(values['http-host'] ? { host: values['http-host'] } : {}),
        ...(values['http-port'] ? { port: Number(values['http-port']) } : {}),
      },
      mqtt: {
        url: values['mqtt-url'] ?? env.BREWTEL_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
        username: values['mqtt-username'] ?? env.BREWTEL_MQTT_USERNAME ?? 'svc-ingest',
        password: values['mqtt-password'] ?? env.BREWTEL_MQTT_PASSWORD ?? '',
        ...(values['mqtt-client-id'] ? { clientId: values['mqtt-client-id'] } : {}),
        ...(values['mqtt-share-group'] ? { shareGroup: values['mqtt-share-group'] } : {}),
        // The label people type, read into the protocol level; anything else is left for the schema to refuse.
        ...(values['mqtt-version'] ? { protocolVersion: (protocolLevelOf(values['mqtt-version']) ?? values['mqtt-version']) as ProtocolVersion } : {}),
      },
      ...mosquittoInput(values['mosquitto-password-file'], values['mosquitto-acl-file'], values['mosquitto-pid-file']),
      adminToken: tokenFromEnv('BREWTEL_ADMIN_TOKEN'),
      brokerToken: tokenFromEnv('BREWTEL_BROKER_TOKEN'),
      privacy: {
        keyVaults: parsePairs(values['key-vault'] ?? [], '--key-vault', 'FILE'),
        ...(env.BREWTEL_AUDIT_KEY ? { auditKey: env.BREWTEL_AUDIT_KEY } : {}),
        ...(values['audit-checkpoint-dir'] ? { auditCheckpointDir: values['audit-checkpoint-dir'] } : {}),
      },
      tokens: [...(values.token ?? []), ...(env.BREWTEL_TOKENS ?? '').split(',').filter(Boolean)].map((spec) => parseTokenSpec(spec.trim())),
      ...(values['log-level'] ? { logLevel: values['log-level'] as ServerConfigInput['logLevel'] } : {}),
      ingest: {
        ...(values['clock-ahead-ms'] ? { clockAheadMs: Number(values['clock-ahead-ms']) } : {}),
        ...(values['clock-behind-ms'] ? { clockBehindMs: Number(values['clock-behind-ms']) } : {}),
        ...(values['quarantine-per-device-hour'] ? { quarantinePerDeviceHour: Number(values['quarantine-per-device-hour']) } : {}),
      },
    };
  } catch (error) {
    return { help: false, error: (error as Error).message };
  }
  const parsed = serverConfigSchema.safeParse(input);
  if (!parsed.success) return { help: false, error: `invalid configuration:\n${z.prettifyError(parsed.error)}` };
  return { help: false, config: { config: parsed.data, generated } };
}

/** Both files or neither: one without the other would leave Mosquitto with rights nobody keeps. */
function mosquittoInput(passwordFile: string | undefined, aclFile: string | undefined, pidFile: string | undefined): Pick<ServerConfigInput, 'mosquitto'> {
  if (passwordFile === undefined && aclFile === undefined && pidFile === undefined) return {};
  if (passwordFile === undefined || aclFile === undefined) throw new Error('--mosquitto-password-file and --mosquitto-acl-file go together');
  return { mosquitto: { passwordFile, aclFile, ...(pidFile === undefined ? {} : { pidFile }) } };
}

/** `REGION=VALUE` entries of a repeatable flag into a record. */
function parsePairs(entries: readonly string[], flag: string, value: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`${flag} expects REGION=${value}, got "${entry.split('=')[0]}"`);
    pairs[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return pairs;
}
