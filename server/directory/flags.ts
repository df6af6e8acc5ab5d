import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { readFlags, type Env, type FlagResult } from '../../cli/flags.ts';
import { directoryConfigSchema, type DirectoryConfig, type DirectoryConfigInput } from './config.ts';

export const USAGE = `Usage: brewtel directory [options]   (in the repository: npx tsx server/directory/main.ts [options])

Runs the global directory of a deployment of regional planes: device id -> home region, and each
plane's endpoints. Provisioning goes through it to the home plane; brokers and devices look homes up.

  --plane REGION=MQTT_URL,API_URL[,MQTTS_URL]
                                a region's plane: its broker for devices, its server's base URL, and its
                                TLS listener for certificate devices when MQTT_URL is not (repeatable)
  --config FILE                 a JSON file with any of the settings (planes with their tokens, too);
                                flags and the environment override it
  --http-host H                 address of the HTTP listener (default 127.0.0.1)
  --http-port N                 (default 8090; 0 picks a free port)
  --data-dir DIR                where the SQLite store lives, DIR/device-homes.db (default data)
  --store-url URL               the store instead: file:… or postgresql://…
  --plane-timeout-ms N          a plane's provisioning answer is awaited this long (default 10000)
  --log-level LEVEL             fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help                    this text

Environment: BREWTEL_DIRECTORY_ADMIN_TOKEN, BREWTEL_DIRECTORY_LOOKUP_TOKEN (generated and printed once
when not set), BREWTEL_PLANE_TOKEN_<REGION> (e.g. BREWTEL_PLANE_TOKEN_EU: the plane's operator:REGION
token the directory provisions with, and the plane presents to remove an erased device; required for
each --plane unless the config file gives it).`;

export interface DirectoryFlags {
  config: DirectoryConfig;
  /** `NAME=token` lines of the tokens made up because the environment had none. */
  generated: string[];
}

const fileSchema = z.looseObject({ planes: z.array(z.looseObject({ region: z.string() })).optional() });

/** The edge: argv, env and an optional JSON file in, one validated config (or a one-line error) out. */
export function readDirectoryConfig(argv: readonly string[], env: Env): FlagResult<DirectoryFlags> {
  const flags = readFlags(argv, {
    plane: { type: 'string', multiple: true },
    config: { type: 'string' },
    'http-host': { type: 'string' },
    'http-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'store-url': { type: 'string' },
    'plane-timeout-ms': { type: 'string' },
    'log-level': { type: 'string' },
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;
  const generated: string[] = [];
  const tokenFromEnv = (name: string, fromFile: unknown): unknown => {
    const value = env[name];
    if (value) return value;
    if (fromFile !== undefined) return fromFile;
    const token = randomBytes(24).toString('base64url');
    generated.push(`${name}=${token}`);
    return token;
  };
  let input: DirectoryConfigInput;
  try {
    const file = values.config === undefined ? {} : readConfigFile(values.config);
    const filePlanes = (file.planes ?? []) as Record<string, unknown>[];
    const flagPlanes = (values.plane ?? []).map(parsePlane);
    // A plane given by flag replaces the file's plane of that region, keeping the file's token.
    const planes = [...filePlanes.filter((p) => !flagPlanes.some((f) => f.region === p.region)), ...flagPlanes].map((plane) => {
      const fromFile = filePlanes.find((p) => p.region === plane.region)?.token;
      const name = `BREWTEL_PLANE_TOKEN_${String(plane.region).toUpperCase()}`;
      const token = env[name] ?? fromFile;
      if (token === undefined) throw new Error(`the plane of region ${String(plane.region)} needs its token in ${name}`);
      return { ...plane, token };
    });
    const fileHttp = (file.http ?? {}) as Record<string, unknown>;
    input = {
      ...(file as Partial<DirectoryConfigInput>),
      planes: planes as DirectoryConfigInput['planes'],
      adminToken: tokenFromEnv('BREWTEL_DIRECTORY_ADMIN_TOKEN', file.adminToken) as string,
      lookupToken: tokenFromEnv('BREWTEL_DIRECTORY_LOOKUP_TOKEN', file.lookupToken) as string,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values['store-url'] ? { storeUrl: values['store-url'] } : {}),
      http: {
        ...fileHttp,
        ...(values['http-host'] ? { host: values['http-host'] } : {}),
        ...(values['http-port'] ? { port: Number(values['http-port']) } : {}),
      },
      ...(values['plane-timeout-ms'] ? { planeTimeoutMs: Number(values['plane-timeout-ms']) } : {}),
      ...(values['log-level'] ? { logLevel: values['log-level'] as DirectoryConfigInput['logLevel'] } : {}),
    };
  } catch (error) {
    return { help: false, error: (error as Error).message };
  }
  const parsed = directoryConfigSchema.safeParse(input);
  if (!parsed.success) return { help: false, error: `invalid configuration:\n${z.prettifyError(parsed.error)}` };
  return { help: false, config: { config: parsed.data, generated } };
}

/** `REGION=MQTT_URL,API_URL[,MQTTS_URL]`; the URLs themselves are checked by the schema. */
function parsePlane(spec: string): { region: string; mqttUrl: string; apiUrl: string; mqttsUrl?: string } {
  const at = spec.indexOf('=');
  const urls = spec.slice(at + 1).split(',');
  if (at <= 0 || urls.length < 2 || urls.length > 3) throw new Error('--plane expects REGION=MQTT_URL,API_URL[,MQTTS_URL]');
  const mqttsUrl = urls[2]?.trim();
  return { region: spec.slice(0, at), mqttUrl: urls[0]!.trim(), apiUrl: urls[1]!.trim(), ...(mqttsUrl ? { mqttsUrl } : {}) };
}

function readConfigFile(file: string): z.infer<typeof fileSchema> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`--config ${file}: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`--config ${file}: not a JSON object with a planes list`);
  return parsed.data;
}
