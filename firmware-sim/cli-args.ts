import { readFlags, type Env, type FlagResult } from '../cli/flags.ts';
import { z } from 'zod';
import { DEFAULT_REGIONS, regionListSchema } from '../schema/regions.ts';
import { faultRatesSchema } from '../schema/fault-rates.ts';
import { connectRateFlagSchema } from './fleet-options.ts';
import { fleetSliceSchema } from './fleet-slice.ts';
import { machineFaultRatesSchema } from './machine-faults.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from './mqtt-version.ts';
import { firmwareProfileSchema } from './machine-model.ts';
import { logLevelSchema } from '../schema/log-level.ts';

export const USAGE = `Usage: brewtel sim --broker URL [options]   (in the repository: npm run sim -- ...)

Runs a fleet of simulated coffee machines against any MQTT broker.

  --broker URL            MQTT broker, e.g. mqtt://127.0.0.1:1883 (required)
  --machines N            number of machines (default 10; with --credentials: all in the file)
  --seed S                fleet seed: same seed, same behaviour (default 1)
  --slice K/N             run only slice K of N of the fleet of --machines (fleet indices
                          floor((K-1)M/N) to floor(KM/N)-1), each machine as it would run in one
                          process; start N processes, K = 1..N, with the same --machines and --seed
  --speed X               simulated seconds per real second (default 60)
  --duration SECONDS      stop after this long and print a summary (default: until Ctrl-C)
  --api URL --token T     self-provision the machines through the server's API
                          (token also from BREWTEL_TOKEN or BREWTEL_ADMIN_TOKEN)
  --regions a,b,c         regions to spread self-provisioned machines over (default eu,us,cn)
  --leaky N               how many self-provisioned machines run the leaky firmware (default 0)
  --profile P             every machine runs this firmware: compliant or leaky (the story's machine:
                          ignores consent, leaks owner name, exact location and card data)
  --credentials FILE      use machines from a JSON array of {deviceId, secret, region, profile?, usage?,
                          mqttUrl?} (mqttUrl: that machine's own broker, its home plane's)
  --directory URL         regional planes: a machine a broker turns away (3.1.1 CONNACK 3, or not
                          authorized) asks this directory where it lives and goes there; machines keep
                          the plane they reached (docs/planes.md)
  --directory-token T     bearer token for the directory (or BREWTEL_DIRECTORY_TOKEN)
  --save-credentials FILE write the self-provisioned machines there (owner-only file mode)
  --mqtt-version V        3.1.1 or 5 (default 5), for every machine whose credentials name none
                          (a credentials entry may carry "mqttVersion": "3.1.1" or "5")
  --topic-aliases on|off  MQTT 5 topic aliases on the machines' publishes, up to the broker's
                          Topic Alias Maximum (default on; 3.1.1 machines never use them)
  --connect-concurrency N machines waiting for their first CONNACK at once (default 50)
  --connect-rate N/s      first connection attempts started per second, at most (default 0: as
                          fast as the broker answers; the window halves after a failed attempt)
  --offline-buffer N      events each machine keeps while offline; the oldest go first (default 1000)
  --faults SPEC           inject faults, e.g. drop=0.01,duplicate=0.02,reorder=0.01,delay=0.01,
                          disconnect=0.001,malformed=0.01,delayMs=200 (rates per event, sum <= 1)
  --machine-faults SPEC   chances per brew of machine faults, e.g. beanJam=0.01,overheat=0.005
                          (defaults 0.0005 and 0.0002; empty tanks and full bins follow from use)
  --record FILE           record every event sent to FILE (JSON Lines) for a later --replay
  --replay FILE           replay a recorded run against --broker instead of simulating
                          (--credentials optional, for brokers that authenticate devices)
  --replay-pace X         1 = recorded pace (default), 2 = twice as fast, 0 = as fast as acknowledged
  --log-level LEVEL       fatal|error|warn|info|debug|trace|silent (default warn)
  -h, --help              this text`;

const positiveInt = z.coerce.number().int().min(1);

export const cliConfigSchema = z
  .object({
    broker: z.string().regex(/^(mqtts?|wss?|tcp|tls):\/\/.+/, 'expected a broker URL such as mqtt://127.0.0.1:1883'),
    machines: positiveInt.optional(),
    seed: z.coerce.number().int().default(1),
    slice: fleetSliceSchema.optional(),
    speed: z.coerce.number().positive().max(1_000_000).default(60),
    duration: z.coerce.number().positive().optional(),
    api: z.url().optional(),
    token: z.string().min(1).optional(),
    regions: z
      .string()
      .default(DEFAULT_REGIONS.join(','))
      .transform((s) => s.split(',').map((r) => r.trim()))
      .pipe(regionListSchema),
    leaky: z.coerce.number().int().min(0).default(0),
    profile: firmwareProfileSchema.optional(),
    credentials: z.string().min(1).optional(),
    directory: z.url().optional(),
    directoryToken: z.string().min(1).optional(),
    saveCredentials: z.string().min(1).optional(),
    connectConcurrency: positiveInt.default(50),
    connectRate: connectRateFlagSchema.default(0),
    mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
    topicAliases: z
      .enum(['on', 'off'], { error: 'expected on or off' })
      .default('on')
      .transform((v) => v === 'on'),
    offlineBuffer: z.coerce.number().int().min(0).max(1_000_000).default(1_000),
    faults: z
      .string()
      .optional()
      .transform((spec, ctx) => (spec === undefined ? undefined : parseFaultSpec(spec, ctx)))
      .pipe(faultRatesSchema.optional()),
    machineFaults: z
      .string()
      .optional()
      .transform((spec, ctx) => (spec === undefined ? undefined : parseFaultSpec(spec, ctx)))
      .pipe(machineFaultRatesSchema.optional()),
    record: z.string().min(1).optional(),
    replay: z.string().min(1).optional(),
    replayPace: z.coerce.number().min(0).max(1_000_000).default(1),
    logLevel: logLevelSchema.default('warn'),
  })
  .refine(
    (c) => c.replay !== undefined || (c.credentials === undefined) !== (c.api === undefined),
    'give either --credentials FILE or --api URL (with --token)',
  )
  .refine((c) => c.replay === undefined || (c.api === undefined && c.record === undefined), '--replay takes no --api or --record')
  .refine((c) => c.api === undefined || c.token !== undefined, 'self-provisioning needs --token (or BREWTEL_TOKEN)')
  .refine((c) => c.leaky <= (c.machines ?? 10), 'more leaky machines than machines')
  .refine((c) => c.slice === undefined || c.replay === undefined, { message: '--replay runs no fleet to slice', path: ['slice'] })
  .refine((c) => c.slice === undefined || c.credentials !== undefined || c.slice.of <= (c.machines ?? 10), {
    message: 'more slices than machines',
    path: ['slice'],
  })
  .refine((c) => c.directory === undefined || c.directoryToken !== undefined, '--directory needs --directory-token (or BREWTEL_DIRECTORY_TOKEN)');
export type CliConfig = z.output<typeof cliConfigSchema>;

/** Flags first, then the environment for the token; one line of error text when something is wrong. */
export function parseCli(argv: readonly string[], env: Env): FlagResult<CliConfig> {
  const flags = readFlags(argv, {
    broker: { type: 'string' },
    machines: { type: 'string' },
    seed: { type: 'string' },
    slice: { type: 'string' },
    speed: { type: 'string' },
    duration: { type: 'string' },
    api: { type: 'string' },
    token: { type: 'string' },
    regions: { type: 'string' },
    leaky: { type: 'string' },
    credentials: { type: 'string' },
    directory: { type: 'string' },
    'directory-token': { type: 'string' },
    'save-credentials': { type: 'string' },
    'connect-concurrency': { type: 'string' },
    'connect-rate': { type: 'string' },
    'log-level': { type: 'string' },
    'offline-buffer': { type: 'string' },
    faults: { type: 'string' },
    record: { type: 'string' },
    replay: { type: 'string' },
    'replay-pace': { type: 'string' },
    'mqtt-version': { type: 'string' },
    'machine-faults': { type: 'string' },
    profile: { type: 'string' },
    'topic-aliases': { type: 'string' },
  });
  if (!('values' in flags)) return flags;
  const { values } = flags;
  const parsed = cliConfigSchema.safeParse({
    ...values,
    token: values.token ?? env.BREWTEL_TOKEN ?? env.BREWTEL_ADMIN_TOKEN,
    saveCredentials: values['save-credentials'],
    directoryToken: values['directory-token'] ?? env.BREWTEL_DIRECTORY_TOKEN,
    connectConcurrency: values['connect-concurrency'],
    connectRate: values['connect-rate'],
    logLevel: values['log-level'],
    offlineBuffer: values['offline-buffer'],
    replayPace: values['replay-pace'],
    machineFaults: values['machine-faults'],
    mqttVersion: values['mqtt-version'],
    topicAliases: values['topic-aliases'],
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `--${String(issue.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ` : '';
    return { help: false, error: `${where}${issue?.message ?? 'invalid arguments'}` };
  }
  return { help: false, config: parsed.data };
}

/** `drop=0.01,delayMs=300` -> `{ drop: 0.01, delayMs: 300 }`; the rates schema judges names and values. */
function parseFaultSpec(spec: string, ctx: z.RefinementCtx): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const part of spec.split(',')) {
    const [name, value, ...rest] = part.split('=');
    if (name === undefined || value === undefined || rest.length > 0 || value.trim() === '' || !Number.isFinite(Number(value))) {
      ctx.addIssue({ code: 'custom', message: `expected name=number pairs, got "${part}"` });
      return rates;
    }
    rates[name.trim()] = Number(value);
  }
  return rates;
}
