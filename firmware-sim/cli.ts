/**
 * `brewtel sim` / `npm run sim`: a fleet of simulated machines against any MQTT broker. The only
 * firmware-sim module that reads flags, the environment or the terminal.
 */
import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { parseCli, USAGE, type CliConfig } from './cli-args.ts';
import { createFleet } from './fleet.ts';
import { FleetCounters, type FleetStats } from './fleet-stats.ts';
import { connectSeconds, liveLine, phaseProgress, RateMeter, type LiveLine } from './live-progress.ts';
import { machineIdentityListSchema, type MachineIdentity } from './fleet-options.ts';
import { sliceRange, type SliceRange } from './fleet-slice.ts';
import { replaceOwnerOnlyFile } from './owner-only-files.ts';
import { provisionMachines } from './provision.ts';
import { replayRun } from './replay.ts';
import { runIfEntry } from '../cli/entry.ts';
import type { Env } from '../cli/flags.ts';
import { limitHeapGrowth, SIMULATOR_HEAP_GROWING_PERCENT } from '../cli/heap-growth.ts';

const DEFAULT_MACHINES = 10;
const PROGRESS_EVERY_MS = 1_000;

/** Resolves with the exit code once the fleet has stopped (see docs/cli.md). */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const parsed = parseCli(argv, env);
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`sim: ${parsed.error}\n(see brewtel sim --help)\n`);
    return 2;
  }
  const config = parsed.config;
  // Many machines making events faster than they can be sent: see cli/heap-growth.ts.
  limitHeapGrowth(SIMULATOR_HEAP_GROWING_PERCENT);
  const logger = pino({ level: config.logLevel }, pino.destination(2));
  const started = performance.now();
  const progress = liveLine(process.stderr);

  // Ctrl-C at any point (provisioning, connecting, running) ends with the summary of what happened so far.
  const interrupt = new AbortController();
  const interrupted = new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
  process.once('SIGINT', () => {
    progress.end();
    process.stderr.write('sim: stopping (Ctrl-C again to abort)\n');
    process.once('SIGINT', () => process.exit(130));
    interrupt.abort();
  });

  if (config.replay !== undefined) return replay(config, logger);
  const { machines, range, fleetSize } = await loadMachines(config, progress, interrupt.signal);
  if (config.slice !== undefined) {
    process.stderr.write(
      `sim: slice ${config.slice.index}/${config.slice.of}: fleet indices ${range.first}-${range.first + range.count - 1} of ${fleetSize} machines\n`,
    );
  }
  if (interrupt.signal.aborted) {
    progress.end();
    process.stdout.write(`\ninterrupted while provisioning: ${machines.length} of ${range.count} machines provisioned, none started\n`);
    printSummary(new FleetCounters(machines.length).snapshot(), started, config.speed);
    return 0;
  }
  const fleet = createFleet(
    {
      brokerUrl: config.broker,
      machines,
      firstIndex: range.first,
      seed: config.seed,
      speed: config.speed,
      connectConcurrency: config.connectConcurrency,
      connectRatePerS: config.connectRate,
      topicAliases: config.topicAliases,
      mqttVersion: config.mqttVersion,
      offlineBufferSize: config.offlineBuffer,
      faults: config.faults,
      machineFaults: config.machineFaults,
      recordTo: config.record,
      ...(config.directory === undefined ? {} : { directory: { url: config.directory, token: config.directoryToken! } }),
    },
    logger,
  );
  const connectRate = new RateMeter();
  const ticker = setInterval(() => progress.show(progressLine(fleet.stats(), connectRate, started, config.speed)), PROGRESS_EVERY_MS);

  await Promise.race([fleet.whenRamped(), interrupted]);
  if (!interrupt.signal.aborted && config.duration !== undefined) {
    await Promise.race([interrupted, new Promise<void>((resolve) => setTimeout(resolve, config.duration! * 1000).unref())]);
  } else if (!interrupt.signal.aborted) await interrupted;
  clearInterval(ticker);
  progress.end();
  const connectedAtEnd = fleet.stats().connected;
  await fleet.stop();
  printSummary({ ...fleet.stats(), connected: connectedAtEnd }, started, config.speed);
  return 0;
}

async function replay(config: CliConfig, logger: Logger): Promise<number> {
  const started = performance.now();
  const credentials = config.credentials === undefined ? undefined : machineIdentityListSchema.parse(JSON.parse(await readFile(config.credentials, 'utf8')));
  const result = await replayRun(
    {
      brokerUrl: config.broker,
      mqttVersion: config.mqttVersion,
      topicAliases: config.topicAliases,
      file: config.replay!,
      credentials,
      pace: config.replayPace,
      offlineBufferSize: config.offlineBuffer,
      drainTimeoutMs: 10_000,
    },
    logger,
  );
  const realS = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `\nreplayed ${config.replay} in ${realS} s (pace ${config.replayPace}), skipped lines: ${result.skippedLines}\n${summaryLine(result)}\n`,
  );
  return 0;
}

interface LoadedMachines {
  machines: MachineIdentity[];
  /** The fleet indices this process runs: all of them, or its `--slice`. */
  range: SliceRange;
  fleetSize: number;
}

async function loadMachines(config: CliConfig, progress: LiveLine, signal: AbortSignal): Promise<LoadedMachines> {
  const { profile } = config;
  const loaded = await loadIdentities(config, progress, signal);
  return profile === undefined ? loaded : { ...loaded, machines: loaded.machines.map((m) => ({ ...m, profile })) };
}

const rangeOf = (config: CliConfig, fleetSize: number): SliceRange =>
  config.slice === undefined ? { first: 0, count: fleetSize } : sliceRange(fleetSize, config.slice);

/**
 * A credentials file holds the whole fleet in fleet order, so a slice runs the same devices as one
 * process would at those indices; self-provisioned, each slice registers its own (the server gives
 * every device its id, so slices never collide) with the fleet index's region, consent and usage.
 */
async function loadIdentities(config: CliConfig, progress: LiveLine, signal: AbortSignal): Promise<LoadedMachines> {
  if (config.credentials !== undefined) {
    const all = machineIdentityListSchema.parse(JSON.parse(await readFile(config.credentials, 'utf8')));
    const fleetSize = Math.min(config.machines ?? all.length, all.length);
    const range = rangeOf(config, fleetSize);
    return { machines: all.slice(range.first, range.first + range.count), range, fleetSize };
  }
  const fleetSize = config.machines ?? DEFAULT_MACHINES;
  const range = rangeOf(config, fleetSize);
  const count = range.count;
  const rate = new RateMeter();
  let provisioned = 0;
  const show = (): void => progress.show(phaseProgress('provisioning', provisioned, count, rate.perSecond(provisioned)));
  show();
  const ticker = setInterval(show, PROGRESS_EVERY_MS);
  const machines = await provisionMachines(
    { apiUrl: config.api!, token: config.token!, count, firstIndex: range.first, fleetSize, regions: config.regions, seed: config.seed, leaky: config.leaky },
    (n) => {
      provisioned = n;
    },
    signal,
  ).finally(() => clearInterval(ticker));
  // Saved after an interrupted run too: those machines exist at the server, with these secrets only.
  if (config.saveCredentials !== undefined) {
    await replaceOwnerOnlyFile(config.saveCredentials, `${JSON.stringify(machines, null, 2)}\n`);
  }
  return { machines, range, fleetSize };
}

function simulatedHours(started: number, speed: number): string {
  return (((performance.now() - started) * speed) / 3_600_000).toFixed(1);
}

/** While the fleet comes online: how many are connected and how fast; afterwards what it publishes. */
function progressLine(stats: FleetStats, connectRate: RateMeter, started: number, speed: number): string {
  const connecting =
    stats.allConnectedAt === null
      ? `${phaseProgress('connected', stats.connected, stats.machines, connectRate.perSecond(stats.connected))}`
      : `connected ${stats.connected}/${stats.machines}`;
  return `${connecting}  published ${stats.published}  suppressed ${stats.suppressed}  failed ${stats.failed}  pending ${stats.pending}  sim ${simulatedHours(started, speed)} h`;
}

function printSummary(stats: FleetStats, started: number, speed: number): void {
  const realS = ((performance.now() - started) / 1000).toFixed(1);
  const byKind = Object.entries(stats.publishedByKind)
    .map(([kind, n]) => `${kind}=${n}`)
    .join(' ');
  process.stdout.write(
    [
      '',
      `ran ${realS} s real, ${simulatedHours(started, speed)} h simulated (x${speed})`,
      `published by kind: ${byKind}`,
      `commands: ${Object.entries(stats.commandOutcomes)
        .map(([outcome, n]) => `${outcome}=${n}`)
        .join(' ')}`,
      `injected faults: ${Object.entries(stats.injected)
        .map(([fault, n]) => `${fault}=${n}`)
        .join(' ')}`,
      `refused by the broker: ${
        refusalsByCode(stats)
          .map(([key, n]) => `${key}=${n}`)
          .join(' ') || 'none'
      }`,
      `MQTT sent by the machines: ${stats.bytesWritten} bytes${stats.published > 0 ? ` (${(stats.bytesWritten / stats.published).toFixed(1)} per event acknowledged)` : ''}`,
      `${summaryLine(stats)} connect_s=${connectSeconds(started, stats.allConnectedAt)}`,
      '',
    ].join('\n'),
  );
}

/** The replay's summary ends with this too; `npm run sim` adds how long connecting took (connect_s). */
function summaryLine(stats: FleetStats): string {
  const { machines, connected, published, suppressed, failed, pending, buffered, dropped, redirected, relocated } = stats;
  const byCode = refusalsByCode(stats);
  const refused = byCode.reduce((n, [, count]) => n + count, 0);
  const codes = byCode.map(([key, count]) => ` ${key}=${count}`).join('');
  return `machines=${machines} connected=${connected} published=${published} suppressed=${suppressed} failed=${failed} pending=${pending} buffered=${buffered} dropped=${dropped} redirected=${redirected} relocated=${relocated} refused=${refused}${codes}`;
}

/** `puback_0x87`, `connack_0x86`, `disconnect_0x96`: where the broker refused, and with which reason code. */
function refusalsByCode(stats: FleetStats): Array<[string, number]> {
  return Object.entries(stats.refusals).flatMap(([packet, counts]: [string, Record<string, number>]) =>
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]): [string, number] => [`${packet}_${code}`, n]),
  );
}

runIfEntry(import.meta.url, 'sim', main);
