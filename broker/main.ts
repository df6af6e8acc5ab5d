/**
 * `brewtel broker`: the broker on its own, for a deployment where the server runs elsewhere:
 *   brewtel broker --port 1883 --ws-port 8083 --device-auth-url … --device-auth-token … \
 *     --service-account svc-ingest:<password>
 * Its main() is the only place that reads flags and the environment for the broker.
 */
import { pino } from 'pino';
import { limitHeapGrowth } from '../cli/heap-growth.ts';
import { runIfEntry } from '../cli/entry.ts';
import type { Env } from '../cli/flags.ts';
import { startBroker, type RunningBroker } from './broker.ts';
import { readBrokerConfig, USAGE } from './flags.ts';
import { ListenError } from './listeners.ts';
import { PERMISSIVE_BANNER, requireLoopback } from './permissive-test-mode.ts';

/** Resolves with the exit code once the broker has closed after SIGINT or SIGTERM (see docs/cli.md). */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readBrokerConfig(argv, env);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if ('error' in flags) {
    console.error(`error: ${flags.error}\n(see brewtel broker --help)`);
    return 2;
  }
  const logger = pino({ level: flags.config.logLevel });
  // A long-running process of many connections: see cli/heap-growth.ts.
  limitHeapGrowth();
  let broker: RunningBroker;
  try {
    if (flags.config.unsafePermissiveTestMode) {
      requireLoopback(flags.config.host);
      console.error(PERMISSIVE_BANNER);
    }
    broker = await startBroker(flags.config, logger);
  } catch (error) {
    if (error instanceof ListenError && (error.code === 'EADDRINUSE' || error.code === 'EACCES')) {
      const flag = { tcp: '--port', ws: '--ws-port', tls: '--tls-port', metrics: '--metrics-port' }[error.listener];
      console.error(`error: port ${error.port} cannot be used (${error.code}); choose another with ${flag} (0 picks a free port)`);
    } else {
      console.error(`error: could not start the broker: ${(error as Error).message}`);
    }
    return 1;
  }
  console.error(`brewtel broker: ${[broker.mqttUrl, broker.mqttsUrl, broker.wsUrl, broker.metricsUrl].filter(Boolean).join('  ')}`);
  const running = broker;
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info(running.stats(), 'broker stopping');
      running.close().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, 'close failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

runIfEntry(import.meta.url, 'brewtel broker', main);
