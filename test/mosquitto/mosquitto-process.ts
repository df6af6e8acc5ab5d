import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';

export const MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** Whether this machine has Mosquitto; under CI=true a test that needs it fails instead of skipping. */
export function mosquittoInstalled(): boolean {
  const installed = existsSync(MOSQUITTO_BIN);
  if (!installed && process.env.CI === 'true') throw new Error(`${MOSQUITTO_BIN} is missing: the Mosquitto plane tests need it under CI`);
  return installed;
}

/** A port nobody listens on right now: bound on port 0, then let go for Mosquitto to take. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface MosquittoProcess {
  /** Devices' listener: use_username_as_clientid, as the recipe in docs/planes.md. */
  deviceUrl: string;
  /** The service listener (ingest, outbound): client ids of their own. */
  serviceUrl: string;
  passwordFile: string;
  aclFile: string;
  pidFile: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A Mosquitto of its own for one test file, on two ephemeral ports, with authentication and the ACL
 * on: the files brewtel keeps in step (empty until the server writes them) and a pid file to SIGHUP.
 */
export async function startMosquitto(dir: string): Promise<MosquittoProcess> {
  const [devicePort, servicePort] = [await freePort(), await freePort()];
  const files = { passwordFile: join(dir, 'mosquitto.passwd'), aclFile: join(dir, 'mosquitto.acl'), pidFile: join(dir, 'mosquitto.pid') };
  await writeFile(files.passwordFile, '', { mode: 0o600 });
  await writeFile(files.aclFile, '', { mode: 0o600 });
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(
    conf,
    [
      // Started as root, Mosquitto would drop to the mosquitto user and could not read the 0600 files.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${files.passwordFile}`,
      `acl_file ${files.aclFile}`,
      `pid_file ${files.pidFile}`,
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      `listener ${devicePort} 127.0.0.1`,
      'use_username_as_clientid true',
      `listener ${servicePort} 127.0.0.1`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!((await listening(devicePort)) && (await listening(servicePort)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    deviceUrl: `mqtt://127.0.0.1:${devicePort}`,
    serviceUrl: `mqtt://127.0.0.1:${servicePort}`,
    ...files,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
