import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { freePort } from '../../launcher/planes.ts';
import { DEFAULT_MOSQUITTO_BIN, startMosquitto as startMosquittoProcess, type MosquittoProcess } from '../../launcher/mosquitto-process.ts';

export type { MosquittoProcess };

/** Whether this machine has Mosquitto; under CI=true a test that needs it fails instead of skipping. */
export function mosquittoInstalled(): boolean {
  const installed = existsSync(DEFAULT_MOSQUITTO_BIN);
  if (!installed && process.env.CI === 'true') throw new Error(`${DEFAULT_MOSQUITTO_BIN} is missing: the Mosquitto plane tests need it under CI`);
  return installed;
}

/**
 * A Mosquitto of its own for one test file, as a Mosquitto plane runs it (launcher/mosquitto-process.ts),
 * on two ephemeral loopback ports, with authentication and the ACL on: the files brewtel keeps in
 * step (empty until the server writes them) and a pid file to SIGHUP.
 */
export async function startMosquitto(dir: string): Promise<MosquittoProcess> {
  return startMosquittoProcess({
    binary: DEFAULT_MOSQUITTO_BIN,
    dir,
    devices: { host: '127.0.0.1', port: await freePort('127.0.0.1') },
    service: { host: '127.0.0.1', port: await freePort('127.0.0.1') },
    name: 'mosquitto',
    logger: pino({ level: 'silent' }),
  });
}
