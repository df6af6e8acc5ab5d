/**
 * `brewtel server`: the server alone (flags in server/flags.ts). Its main() is the only place that
 * reads flags and the environment for the server.
 */
import pino from 'pino';
import { limitHeapGrowth } from '../cli/heap-growth.ts';
import { runIfEntry } from '../cli/entry.ts';
import { closeOnStopSignal } from '../cli/stop-signals.ts';
import type { Env } from '../cli/flags.ts';
import { readServerConfig, USAGE } from './flags.ts';
import { LOG_REDACTION } from './log-redaction.ts';
import { PortInUseError } from './port-in-use-error.ts';
import { startServer, type RunningServer } from './server.ts';

/** Resolves with the exit code once the server has shut down after SIGINT or SIGTERM (see docs/cli.md). */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readServerConfig(argv, env);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see brewtel server --help)`);
    return 2;
  }
  const { config, generated } = flags.config;
  // A long-running process of many connections: see cli/heap-growth.ts.
  limitHeapGrowth();
  // Logs (JSON lines) go to stderr; stdout carries only the lines meant for a person or a supervisor,
  // among them each generated token, once.
  const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
  let server: RunningServer;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    if (err instanceof PortInUseError) {
      console.error(`${err.message}; choose another with --http-port`);
      return 1;
    }
    throw err;
  }
  for (const line of generated) console.log(`generated ${line}  (shown once; set it to keep it across restarts)`);
  console.log(`brewtel server: ${server.httpUrl}  (docs ${server.httpUrl}/docs), ingest from ${config.mqtt?.url ?? 'no broker'}`);
  // Supervisors (and tests) know from this line that events published from now on reach ingest.
  void server.whenIngestReady().then(() => console.log('ingest subscribed'));
  return closeOnStopSignal(() => server.close(), logger);
}

runIfEntry(import.meta.url, 'brewtel server', main);
