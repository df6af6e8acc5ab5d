import { readFlags, type Env, type FlagResult } from '../cli/flags.ts';
import { parseTokenSpec, type TokenConfig } from '../server/config.ts';
import { BROKER_OPTION_FLAGS, BROKER_OPTIONS_USAGE, brokerOptionsFromFlags, flagOfField } from '../broker/flags.ts';
import { launcherConfigSchema, FLAG_OF_FIELD, type LauncherConfig } from './config.ts';

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
  --log-level LEVEL   fatal|error|warn|info|debug|trace|silent (default warn)
  --token SPEC        another API token, repeatable: operator:REGION:TOKEN, auditor:TOKEN or admin:TOKEN
  --tour              print the guided tour's address (the dashboard walks through the story, chapter by chapter)
  -h, --help          this text

Options of the embedded broker, as brewtel broker takes them (its TCP listener stays on: the
server and the fleet connect through it):
${BROKER_OPTIONS_USAGE}

Environment: BREWTEL_ADMIN_TOKEN sets the admin API token (otherwise one is generated and printed);
BREWTEL_TOKENS adds tokens like --token, comma-separated.`;

/** The edge: argv and env in, one validated config (or a one-line error naming the flag) out. */
export function readLauncherConfig(argv: readonly string[], env: Env): FlagResult<LauncherConfig> {
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
    'mqtt-version': { type: 'string' },
    ...BROKER_OPTION_FLAGS,
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;
  const specs = [...(Array.isArray(values.token) ? values.token : []), ...(env.BREWTEL_TOKENS ? env.BREWTEL_TOKENS.split(',') : [])];
  let tokens: TokenConfig[];
  try {
    tokens = specs.map((spec) => parseTokenSpec(spec.trim()));
  } catch (error) {
    return { help: false, error: `--token: ${(error as Error).message}` };
  }
  const wsPort = values['ws-port'];
  const raw = {
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
    adminToken: env.BREWTEL_ADMIN_TOKEN || undefined,
    tokens,
    tour: values.tour === true,
    mqttVersion: values['mqtt-version'],
    broker: brokerOptionsFromFlags(values),
  };
  const parsed = launcherConfigSchema.safeParse(raw);
  if (parsed.success) return { help: false, config: parsed.data };
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  if (field === 'broker') return { help: false, error: `${flagOfField(issue?.path.slice(1) ?? [])}: ${issue?.message ?? 'invalid value'}` };
  return { help: false, error: `${FLAG_OF_FIELD[field] ?? field}: ${issue?.message ?? 'invalid value'}` };
}
