/**
 * `brewtel directory`: the global directory of regional planes (flags in ./flags.ts). Its main() is
 * the only place that reads flags and the environment for the directory.
 */
import pino from 'pino';
import { runIfEntry } from '../../cli/entry.ts';
import { closeOnStopSignal } from '../../cli/stop-signals.ts';
import { announceReady } from '../../cli/ready.ts';
import type { Env } from '../../cli/flags.ts';
import { LOG_REDACTION } from '../log-redaction.ts';
import { PortInUseError } from '../port-in-use-error.ts';
import { startDirectory, type RunningDirectory } from './directory.ts';
import { readDirectoryConfig, USAGE } from './flags.ts';

/** Resolves with the exit code once the directory has shut down after SIGINT or SIGTERM (docs/cli.md). */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readDirectoryConfig(argv, env);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see brewtel directory --help)`);
    return 2;
  }
  const { config, generated } = flags.config;
  // Logs (JSON lines) on stderr; stdout only the lines for a person or a supervisor, each generated token once.
  const logger = pino({ level: config.logLevel, redact: LOG_REDACTION }, pino.destination(2));
  let directory: RunningDirectory;
  try {
    directory = await startDirectory(config, logger);
  } catch (err) {
    if (err instanceof PortInUseError) {
      console.error(`${err.message}; choose another with --http-port`);
      return 1;
    }
    throw err;
  }
  for (const line of generated) console.log(`generated ${line}  (shown once; set it to keep it across restarts)`);
  announceReady({ httpUrl: directory.url });
  console.log(`brewtel directory: ${directory.url}, planes ${config.planes.map((p) => `${p.region}=${p.apiUrl}`).join(' ')}`);
  return closeOnStopSignal(() => directory.close(), logger);
}

runIfEntry(import.meta.url, 'brewtel directory', main);
