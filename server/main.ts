/**
 * Standalone server: `tsx server/main.ts [flags]`. The only place that reads flags and environment.
 *
 *   --http-host H --http-port N --data-dir DIR --regions eu,us,cn
 *   --store REGION=URL (repeatable; file:… or postgresql://…) --directory-url URL
 *   --mqtt-url URL --mqtt-username U --mqtt-password P --mqtt-client-id ID --log-level L
 *   --mqtt-share-group G (take events through $share/G/…, for several server processes on one broker)
 *   --mqtt-version 3.1.1|5 (ingest and outbound connection; default 5)
 *   --token operator:REGION:TOKEN | auditor:TOKEN | admin:TOKEN (repeatable; also BREWTEL_TOKENS, comma-separated)
 *   --clock-ahead-ms N --clock-behind-ms N (the device-clock window) --quarantine-per-device-hour N
 *   --key-vault REGION=FILE (repeatable: where the region's owner keys live; default DATA_DIR/keys-REGION.db)
 *   --audit-checkpoint-dir DIR (the signed audit chain heads; default DATA_DIR)
 * Environment: BREWTEL_ADMIN_TOKEN, BREWTEL_TOKENS, BREWTEL_BROKER_TOKEN, BREWTEL_MQTT_URL, BREWTEL_MQTT_USERNAME,
 * BREWTEL_MQTT_PASSWORD, BREWTEL_AUDIT_KEY (the audit chains' HMAC key; default a key generated into
 * DATA_DIR/audit.key). Tokens that are not set are generated and printed once.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { protocolLevelOf, type ProtocolVersion } from '../mqtt-wire/codes.ts';
import { parseTokenSpec, serverConfigSchema, type ServerConfigInput } from './config.ts';
import { LOG_REDACTION } from './log-redaction.ts';
import { PortInUseError } from './port-in-use-error.ts';
import { startServer } from './server.ts';

const { values } = parseArgs({
  options: {
    'http-host': { type: 'string' },
    'http-port': { type: 'string' },
    'data-dir': { type: 'string' },
    regions: { type: 'string' },
    store: { type: 'string', multiple: true, default: [] },
    'directory-url': { type: 'string' },
    'mqtt-url': { type: 'string' },
    'mqtt-username': { type: 'string' },
    'mqtt-password': { type: 'string' },
    'mqtt-client-id': { type: 'string' },
    'mqtt-share-group': { type: 'string' },
    'mqtt-version': { type: 'string' },
    'log-level': { type: 'string' },
    token: { type: 'string', multiple: true, default: [] },
    'clock-ahead-ms': { type: 'string' },
    'clock-behind-ms': { type: 'string' },
    'quarantine-per-device-hour': { type: 'string' },
    'key-vault': { type: 'string', multiple: true, default: [] },
    'audit-checkpoint-dir': { type: 'string' },
  },
});

const generated: string[] = [];
function tokenFromEnv(name: string): string {
  const value = process.env[name];
  if (value) return value;
  const token = randomBytes(24).toString('base64url');
  generated.push(`${name}=${token}`);
  return token;
}

function parseStores(entries: readonly string[], flag = '--store', value = 'URL'): Record<string, string> {
  const stores: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new Error(`${flag} expects REGION=${value}, got "${entry.split('=')[0]}"`);
    stores[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return stores;
}

function buildConfig(): ServerConfigInput {
  return {
    ...(values.regions ? { regions: values.regions.split(',').map((r) => r.trim()) } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    stores: parseStores(values.store),
    ...(values['directory-url'] ? { directoryUrl: values['directory-url'] } : {}),
    http: {
      ...(values['http-host'] ? { host: values['http-host'] } : {}),
      ...(values['http-port'] ? { port: Number(values['http-port']) } : {}),
    },
    mqtt: {
      url: values['mqtt-url'] ?? process.env.BREWTEL_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
      username: values['mqtt-username'] ?? process.env.BREWTEL_MQTT_USERNAME ?? 'svc-ingest',
      password: values['mqtt-password'] ?? process.env.BREWTEL_MQTT_PASSWORD ?? '',
      ...(values['mqtt-client-id'] ? { clientId: values['mqtt-client-id'] } : {}),
      ...(values['mqtt-share-group'] ? { shareGroup: values['mqtt-share-group'] } : {}),
      // The label people type, read into the protocol level; anything else is left for the schema to refuse.
      ...(values['mqtt-version'] ? { protocolVersion: (protocolLevelOf(values['mqtt-version']) ?? values['mqtt-version']) as ProtocolVersion } : {}),
    },
    adminToken: tokenFromEnv('BREWTEL_ADMIN_TOKEN'),
    brokerToken: tokenFromEnv('BREWTEL_BROKER_TOKEN'),
    privacy: {
      keyVaults: parseStores(values['key-vault'], '--key-vault', 'FILE'),
      ...(process.env.BREWTEL_AUDIT_KEY ? { auditKey: process.env.BREWTEL_AUDIT_KEY } : {}),
      ...(values['audit-checkpoint-dir'] ? { auditCheckpointDir: values['audit-checkpoint-dir'] } : {}),
    },
    tokens: [...values.token, ...(process.env.BREWTEL_TOKENS ?? '').split(',').filter(Boolean)].map((spec) => parseTokenSpec(spec.trim())),
    ...(values['log-level'] ? { logLevel: values['log-level'] as ServerConfigInput['logLevel'] } : {}),
    ingest: {
      ...(values['clock-ahead-ms'] ? { clockAheadMs: Number(values['clock-ahead-ms']) } : {}),
      ...(values['clock-behind-ms'] ? { clockBehindMs: Number(values['clock-behind-ms']) } : {}),
      ...(values['quarantine-per-device-hour'] ? { quarantinePerDeviceHour: Number(values['quarantine-per-device-hour']) } : {}),
    },
  };
}

let config;
try {
  config = serverConfigSchema.parse(buildConfig());
} catch (err) {
  console.error(err instanceof z.ZodError ? `invalid configuration:\n${z.prettifyError(err)}` : String(err instanceof Error ? err.message : err));
  process.exit(2);
}

// Logs (JSON lines) go to stderr; stdout carries only the lines meant for a person or a supervisor,
// among them each generated token, once.
const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
try {
  const server = await startServer(config, logger);
  for (const line of generated) console.log(`generated ${line}  (shown once; set it to keep it across restarts)`);
  console.log(`brewtel server: ${server.httpUrl}  (docs ${server.httpUrl}/docs), ingest from ${config.mqtt?.url ?? 'no broker'}`);
  // Supervisors (and tests) know from this line that events published from now on reach ingest.
  void server.whenIngestReady().then(() => console.log('ingest subscribed'));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  if (err instanceof PortInUseError) {
    console.error(`${err.message}; choose another with --http-port`);
    process.exit(1);
  }
  throw err;
}
