import { readFlags, type Env, type FlagResult } from '../cli/flags.ts';
import { parseTokenSpec, type TokenConfig } from '../server/config.ts';
import { BROKER_OPTION_FLAGS, BROKER_OPTIONS_USAGE, brokerOptionsFromFlags, flagOfField } from '../broker/flags.ts';
import { launcherConfigSchema, FLAG_OF_FIELD, type LauncherConfig } from './config.ts';
import { loadConfigFile, type ConfigFile } from './config-file.ts';
import { mergeLayers, sourceOf, type ConfigLayer } from './effective-config.ts';
import { unknownSettings } from './unknown-settings.ts';

export const USAGE = `Usage: brewtel start [options]   (in the repository: npm start -- [options])

Starts the embedded broker, the server (one SQLite store per region) and a demo fleet.

  --machines N        simulated coffee machines (default 30)
  --leaky N           of which run the leaky firmware from the story (default 1)
  --duration SECONDS  run that long, print a summary and exit (default: until Ctrl-C)
  --http-port PORT    HTTP API and docs (default 8080; 0 picks a free port)
  --mqtt-port PORT    MQTT over TCP (default 1883; 0 picks a free port)
  --ws-port PORT|off  MQTT over WebSocket (default 8083; 0 picks a free port)
  --host ADDRESS      address to listen on (default 127.0.0.1)
  --data-dir DIR      where the region stores live (default ./data)
  --regions LIST      comma-separated regions (default eu,us,cn)
  --seed N            fleet seed: same seed, same machines (default 1)
  --speed X           simulated time speed-up (default 360: an hour every 10 s)
  --mqtt-version V    the demo machines' MQTT version: 3.1.1 or 5 (default 5); a machine in
                      DATA-DIR/fleet-credentials.json may name its own ("mqttVersion": "3.1.1")
  --connect-rate N/s  the demo machines' connection attempts per second, at most (default 0: as
                      fast as the broker answers them)
  --log-level LEVEL   fatal|error|warn|info|debug|trace|silent (default warn)
  --token SPEC        another API token, repeatable: operator:REGION:TOKEN, auditor:TOKEN or admin:TOKEN
  --tour              print the guided tour's address (the dashboard walks through the story, chapter by chapter)
  --planes            one plane per region (its broker, server and store) as a process of its own, plus
                      the global directory; the fleet is provisioned through the directory and each
                      machine connects to its home plane (docs/planes.md)
  --plane-broker B    each plane's broker with --planes: aedes (default, ours) or mosquitto (a
                      Mosquitto process per plane, its password file and ACL kept by the plane's server)
  --mosquitto-bin F   the Mosquitto binary (default /usr/sbin/mosquitto, Debian's mosquitto package)
  --config FILE       settings file, JSON or YAML (default: brewtel.config.json|yaml in the working
                      directory); flags and the environment override it; see brewtel config print
  -h, --help          this text

Options of the embedded broker, as brewtel broker takes them (its TCP listener stays on: the
server and the fleet connect through it):
${BROKER_OPTIONS_USAGE}

Environment: BREWTEL_ADMIN_TOKEN sets the admin API token (otherwise one is generated and printed);
BREWTEL_TOKENS adds tokens like --token, comma-separated.`;

/** The effective config, the layers it was merged from (for `brewtel config print`) and the file read, if any. */
export interface LauncherSettings {
  config: LauncherConfig;
  layers: ConfigLayer[];
  file: ConfigFile | null;
}

/** The edge: argv and env in, one validated config (or a one-line error naming the flag) out. No config file unless `cwd` is given. */
export function readLauncherConfig(argv: readonly string[], env: Env, options: { cwd?: string } = {}): FlagResult<LauncherConfig> {
  const settings = readLauncherSettings(argv, env, options);
  return settings.help || 'error' in settings ? settings : { help: false, config: settings.config.config };
}

/**
 * Defaults, then the config file (`--config FILE`, else brewtel.config.(json|yaml) in `cwd`), then
 * the environment, then flags; one validated config out, or one line of error naming the flag or
 * the file and the path of the setting.
 */
export function readLauncherSettings(argv: readonly string[], env: Env, options: { cwd?: string } = {}): FlagResult<LauncherSettings> {
  const flags = readFlags(argv, {
    machines: { type: 'string' },
    leaky: { type: 'string' },
    duration: { type: 'string' },
    'http-port': { type: 'string' },
    'mqtt-port': { type: 'string' },
    'ws-port': { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    regions: { type: 'string' },
    seed: { type: 'string' },
    speed: { type: 'string' },
    'log-level': { type: 'string' },
    token: { type: 'string', multiple: true },
    tour: { type: 'boolean' },
    planes: { type: 'boolean' },
    'plane-broker': { type: 'string' },
    'mosquitto-bin': { type: 'string' },
    'mqtt-version': { type: 'string' },
    'connect-rate': { type: 'string' },
    config: { type: 'string' },
    ...BROKER_OPTION_FLAGS,
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;
  let file: ConfigFile | null;
  let flagTokens: TokenConfig[];
  let envTokens: TokenConfig[];
  try {
    file = options.cwd === undefined && values.config === undefined ? null : loadConfigFile(values.config, options.cwd ?? '.');
  } catch (error) {
    return { help: false, error: (error as Error).message };
  }
  try {
    flagTokens = (values.token ?? []).map((spec) => parseTokenSpec(spec.trim()));
    envTokens = (env.BREWTEL_TOKENS ? env.BREWTEL_TOKENS.split(',') : []).map((spec) => parseTokenSpec(spec.trim()));
  } catch (error) {
    return { help: false, error: `--token: ${(error as Error).message}` };
  }
  const wsPort = values['ws-port'];
  // Flags given on this command line only: an absent flag must not hide the file's value.
  const broker: Record<string, unknown> = { ...brokerOptionsFromFlags(values) };
  if (values['tls-port'] === undefined && values['tls-cert'] === undefined && values['tls-key'] === undefined) delete broker.tls;
  if (values['cluster-redis'] === undefined) delete broker.cluster;
  if (values['metrics-port'] === undefined) delete broker.metricsPort;
  const flagValues = {
    machines: values.machines,
    leaky: values.leaky,
    duration: values.duration,
    httpPort: values['http-port'],
    mqttPort: values['mqtt-port'],
    wsPort: wsPort === 'off' ? null : wsPort,
    host: values.host,
    dataDir: values['data-dir'],
    regions: typeof values.regions === 'string' ? values.regions.split(',').map((r) => r.trim()) : undefined,
    seed: values.seed,
    speed: values.speed,
    logLevel: values['log-level'],
    tokens: flagTokens.length > 0 ? flagTokens : undefined,
    tour: values.tour === true ? true : undefined,
    planes: values.planes === true ? true : undefined,
    planeBroker: values['plane-broker'],
    mosquittoBin: values['mosquitto-bin'],
    mqttVersion: values['mqtt-version'],
    connectRate: values['connect-rate'],
    broker,
  };
  const envValues = { adminToken: env.BREWTEL_ADMIN_TOKEN || undefined, tokens: envTokens.length > 0 ? envTokens : undefined };
  const layers: ConfigLayer[] = [
    ...(file ? [{ source: 'file' as const, values: file.values }] : []),
    { source: 'env', values: envValues },
    { source: 'flag', values: flagValues },
  ];
  if (file) {
    // A setting the schema does not know would be dropped without a word: a typo must not pass for a default.
    const unknown = unknownSettings(launcherConfigSchema, file.values);
    if (unknown.length > 0)
      return { help: false, error: `${file.path}: ${unknown.map((p) => p.join('.')).join(', ')}: not a setting (see brewtel config schema)` };
  }
  const raw = mergeLayers(layers);
  // Tokens add up: the file's, the flags' and the environment's are all valid.
  const fileTokens = Array.isArray(file?.values.tokens) ? (file.values.tokens as unknown[]) : [];
  raw.tokens = [...fileTokens, ...flagTokens, ...envTokens];
  const parsed = launcherConfigSchema.safeParse(raw);
  if (parsed.success) return { help: false, config: { config: parsed.data, layers, file } };
  const issue = parsed.error.issues[0];
  const path = (issue?.path ?? []).map(String);
  const message = issue?.message ?? 'invalid value';
  if (file && sourceOf(path, layers) === 'file') return { help: false, error: `${file.path}: ${path.join('.') || '(top)'}: ${message}` };
  const field = path[0] ?? '';
  if (field === 'broker') return { help: false, error: `${flagOfField(path.slice(1))}: ${message}` };
  return { help: false, error: `${FLAG_OF_FIELD[field] ?? path.join('.')}: ${message}` };
}
