/**
 * The broker on its own, for a deployment where the server runs elsewhere:
 *   tsx broker/main.ts --port 1883 --ws-port 8083 --device-auth-url … --device-auth-token … \
 *     --service-account svc-ingest:<password>
 * The only place that reads argv and the environment for the broker.
 */
import { pino } from 'pino';
import { startBroker } from './broker.ts';
import { readBrokerConfig, USAGE } from './flags.ts';
import { ListenError } from './listeners.ts';
import { PERMISSIVE_BANNER, requireLoopback } from './permissive-test-mode.ts';

const flags = readBrokerConfig(process.argv.slice(2), process.env);
if (flags.help) {
  console.log(USAGE);
} else if ('error' in flags) {
  console.error(`error: ${flags.error}\n(see tsx broker/main.ts --help)`);
  process.exitCode = 2;
} else {
  const logger = pino({ level: flags.config.logLevel });
  try {
    if (flags.config.unsafePermissiveTestMode) {
      requireLoopback(flags.config.host);
      console.error(PERMISSIVE_BANNER);
    }
    const broker = await startBroker(flags.config, logger);
    console.error(`brewtel broker: ${[broker.mqttUrl, broker.mqttsUrl, broker.wsUrl, broker.metricsUrl].filter(Boolean).join('  ')}`);
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      logger.info(broker.stats(), 'broker stopping');
      broker.close().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error) {
    if (error instanceof ListenError && (error.code === 'EADDRINUSE' || error.code === 'EACCES')) {
      const flag = { tcp: '--port', ws: '--ws-port', tls: '--tls-port', metrics: '--metrics-port' }[error.listener];
      console.error(`error: port ${error.port} cannot be used (${error.code}); choose another with ${flag} (0 picks a free port)`);
    } else {
      console.error(`error: could not start the broker: ${(error as Error).message}`);
    }
    process.exitCode = 1;
  }
}
