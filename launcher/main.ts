/**
 * `brewtel start` / `npm start`: the embedded stack (aedes broker, server with one SQLite store per region) and a demo
 * fleet in one process. Its main() is the only place that reads flags and the environment for it.
 */
import { pino } from 'pino';
import { LOG_REDACTION } from '../server/log-redaction.ts';
import { readLauncherConfig, USAGE } from './flags.ts';
import { startStack, type Stack } from './stack.ts';
import { statusLine, summary, type Counts } from './status-line.ts';
import { describeStartupError } from './startup-errors.ts';
import type { LauncherConfig } from './config.ts';
import { runIfEntry } from '../cli/entry.ts';
import type { Env } from '../cli/flags.ts';

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
  return run(flags.config);
}

async function run(config: LauncherConfig): Promise<number> {
  // Logs go to stderr; the generated admin token goes to stdout once, in the banner, and never to a log.
  const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
  logger.debug({ config }, 'launcher configuration');
  let stack: Stack;
  try {
    stack = await startStack(config, logger);
  } catch (error) {
    logger.debug({ err: error }, 'startup failed');
    console.error(describeStartupError(error, config));
    return 1;
  }
  printBanner(stack, config);
  const startedAt = performance.now();

  const counts = (): Counts => {
    const server = stack.server.stats();
    return {
      elapsedS: (performance.now() - startedAt) / 1000,
      published: stack.fleet?.stats().published ?? 0,
      stored: server.stored,
      refused: server.refused,
    };
  };
  const live = process.stdout.isTTY;
  const ticker = setInterval(() => {
    const line = statusLine(counts(), config.regions);
    if (live) process.stdout.write(`\r${line}\u001b[K`);
    else console.log(line);
  }, live ? 1000 : 5000);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (reason: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(ticker);
      if (live) process.stdout.write('\n');
      console.log(`stopping (${reason}) ...`);
      await stack.close();
      console.log(summary(counts(), config.regions));
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
      // Everything is closed; a handle that still keeps the process alive is a bug, not a reason to hang.
      setTimeout(() => {
        logger.warn('a handle stayed open after shutdown; exiting anyway');
        process.exit();
      }, 3000).unref();
      resolve(0);
    };
    const onInterrupt = (): void => void stop('Ctrl-C');
    const onTerminate = (): void => void stop('SIGTERM');
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onTerminate);
    if (config.duration > 0) setTimeout(() => void stop(`--duration ${config.duration}`), config.duration * 1000).unref();
  });
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
    `  fleet      ${config.machines} machines over ${config.regions.join(', ')} (${config.leaky} leaky, each with a made-up owner), simulated time x${config.speed}`,
    ...(config.tour ? [`  tour       ${server.httpUrl}/#/tour   (sign in with the admin token; start at any chapter, #/tour/N)`] : []),
    config.duration > 0 ? `Running for ${config.duration} s.` : 'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
}

runIfEntry(import.meta.url, 'brewtel start', main);
