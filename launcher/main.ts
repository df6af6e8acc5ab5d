/**
 * `brewtel start` / `npm start`: the embedded stack (aedes broker, server with one SQLite store per region) in this
 * process and a demo fleet in a child process (launcher/fleet-child.ts). Its main() is the only place that reads
 * flags and the environment for it.
 */
import { pino } from 'pino';
import { LOG_REDACTION } from '../server/log-redaction.ts';
import { readLauncherConfig, USAGE } from './flags.ts';
import { startStack, type Stack } from './stack.ts';
import { statusLine, summary, type Counts, type Phase } from './status-line.ts';
import { liveLine, RateMeter } from '../firmware-sim/live-progress.ts';
import type { Fleet } from '../firmware-sim/fleet.ts';
import { describeStartupError } from './startup-errors.ts';
import type { LauncherConfig } from './config.ts';
import { runIfEntry } from '../cli/entry.ts';
import { announceReady } from '../cli/ready.ts';
import { runPlanes } from './planes-run.ts';
import { startFleetProcess } from './fleet-child.ts';
import type { Env } from '../cli/flags.ts';
import { limitHeapGrowth } from '../cli/heap-growth.ts';

/** `brewtel start` and `npm start`: resolves with the exit code once the stack has stopped. */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readLauncherConfig(argv, env, { cwd: process.cwd() });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see brewtel start --help)`);
    return 2;
  }
  return flags.config.planes ? runAsPlanes(flags.config, env) : run(flags.config);
}

/** `--planes`: the same signals and logs; the stack is processes (launcher/planes-run.ts). */
async function runAsPlanes(config: LauncherConfig, env: Env): Promise<number> {
  const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
  const interrupt = new AbortController();
  const onInterrupt = (): void => interrupt.abort('Ctrl-C');
  const onTerminate = (): void => interrupt.abort('SIGTERM');
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onTerminate);
  try {
    return await runPlanes(config, env, logger, interrupt.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
  }
}

/** Non-TTY output gets a line every this many ticks once the fleet is up (every tick while starting). */
const QUIET_TICKS = 5;

async function run(config: LauncherConfig): Promise<number> {
  // A long-running process of many connections: see cli/heap-growth.ts.
  limitHeapGrowth();
  // Logs go to stderr; the generated admin token goes to stdout once, in the banner, and never to a log.
  const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
  logger.debug({ config }, 'launcher configuration');
  const startedAt = performance.now();
  const line = liveLine(process.stdout);
  let services: Stack | null = null;
  let fleet: Fleet | null = null;
  let phase: Phase = { name: 'starting' };

  const counts = (): Counts => {
    const server = services?.server.stats();
    const stats = fleet?.stats();
    return {
      elapsedS: (performance.now() - startedAt) / 1000,
      published: stats?.published ?? 0,
      dropped: stats?.dropped ?? 0,
      stored: server?.stored ?? {},
      refused: server?.refused ?? {},
      machines: config.machines,
      connected: stats?.connected ?? 0,
      startedAt,
      allConnectedAt: stats?.allConnectedAt ?? null,
    };
  };
  // One meter per count, so a phase's first rate does not start from another phase's count.
  const rates = { starting: new RateMeter(), provisioning: new RateMeter(), owners: new RateMeter(), fleet: new RateMeter() };
  let ticks = 0;
  const ticker = setInterval(() => {
    const now = counts();
    const perSecond = rates[phase.name].perSecond('done' in phase ? phase.done : now.connected);
    const settled = phase.name === 'fleet' && now.connected >= now.machines;
    if (process.stdout.isTTY || !settled || ++ticks % QUIET_TICKS === 0) line.show(statusLine(now, config.regions, phase, perSecond));
  }, 1000);

  // Ctrl-C at any point, startup included, stops what runs and prints the summary of what happened.
  const interrupt = new AbortController();
  let stopped: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => {
    stopped = resolve;
  });
  let stopping = false;
  let startupDone = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    line.end();
    console.log(`stopping (${reason}) ...`);
    // Connected as it was before the fleet says goodbye.
    const before = counts();
    await services?.close();
    console.log(summary({ ...counts(), connected: before.connected, allConnectedAt: before.allConnectedAt }, config.regions));
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    // Everything is closed; a handle that still keeps the process alive is a bug, not a reason to hang.
    setTimeout(() => {
      logger.warn('a handle stayed open after shutdown; exiting anyway');
      process.exit();
    }, 3000).unref();
    stopped(0);
  };
  const onSignal = (reason: string): void => {
    if (interrupt.signal.aborted) return;
    interrupt.abort(reason);
    // During startup, startStack returns at its next step and the stop follows below.
    if (startupDone) void stop(reason);
  };
  const onInterrupt = (): void => onSignal('Ctrl-C');
  const onTerminate = (): void => onSignal('SIGTERM');
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onTerminate);

  try {
    await startStack(config, logger, {
      signal: interrupt.signal,
      // Its own process: one process holding both ends of every machine's connection runs out of descriptors near 10,000.
      launchFleet: startFleetProcess,
      onServices: (stack) => {
        services = stack;
        line.end();
        printBanner(stack, config);
        announceReady({ httpUrl: stack.server.httpUrl, mqttUrl: stack.mqttUrl });
      },
      onProvisioning: (done, total) => {
        phase = { name: 'provisioning', done, total };
      },
      onOwners: (done, total) => {
        phase = { name: 'owners', done, total };
      },
      onFleet: (started) => {
        fleet = started;
        phase = { name: 'fleet' };
      },
    });
  } catch (error) {
    clearInterval(ticker);
    line.end();
    logger.debug({ err: error }, 'startup failed');
    console.error(describeStartupError(error, config));
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    return 1;
  }
  startupDone = true;
  if (interrupt.signal.aborted) {
    const reason: unknown = interrupt.signal.reason;
    await stop(`${typeof reason === 'string' ? reason : 'interrupted'} during startup`);
    return exitCode;
  }
  phase = { name: 'fleet' };
  if (config.duration > 0) setTimeout(() => void stop(`--duration ${config.duration}`), config.duration * 1000).unref();
  return exitCode;
}

function printBanner(stack: Stack, config: LauncherConfig): void {
  const { broker, server } = stack;
  const perRegion = config.regions.map((r) => `${r}.db`).join(' ');
  const lines = [
    'brewtel: embedded broker, server and demo fleet',
    `  dashboard  ${server.httpUrl}/   (sign in with the admin token below)`,
    `  HTTP API   ${server.httpUrl}/api/v1   (docs ${server.httpUrl}/docs, health ${server.httpUrl}/health)`,
    `  MQTT       ${stack.mqttUrl}${broker?.wsUrl ? `   WebSocket ${broker.wsUrl}` : ''}`,
    `  stores     ${config.dataDir}/ (SQLite per region: ${perRegion}; directory.db)`,
    config.adminToken
      ? '  admin      token from BREWTEL_ADMIN_TOKEN'
      : `  admin      token ${stack.adminToken}   (generated; set BREWTEL_ADMIN_TOKEN to choose one)`,
    `  fleet      ${config.machines} machines over ${config.regions.join(', ')} (${config.leaky} leaky, each with a made-up owner) in a process of its own, simulated time x${config.speed} once all machines are connected`,
    ...(config.tour ? [`  tour       ${server.httpUrl}/#/tour   (sign in with the admin token; start at any chapter, #/tour/N)`] : []),
    config.duration > 0 ? `Running for ${config.duration} s.` : 'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
}

runIfEntry(import.meta.url, 'brewtel start', main);
