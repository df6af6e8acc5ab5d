import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { ensureOwnerOnlyDir } from '../server/owner-only-files.ts';
import { stopProcess } from './stop-process.ts';

/** Debian's `mosquitto` package puts the broker here. */
export const DEFAULT_MOSQUITTO_BIN = '/usr/sbin/mosquitto';

/** A missing or unusable binary, named with what to do about it, before anything is started. */
export function checkMosquittoBinary(binary: string): void {
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(
      `${binary}: ${existsSync(binary) ? 'not executable' : 'not found'}; a Mosquitto plane needs the Mosquitto broker ` +
        '(Debian: apt-get install mosquitto) or its path in --mosquitto-bin',
    );
  }
}

export interface MosquittoListener {
  host: string;
  port: number;
}

export interface MosquittoOptions {
  binary: string;
  /** Its folder (0700): mosquitto.conf, the password and ACL files brewtel keeps, the pid file. */
  dir: string;
  /** The devices' listener: client id = username, so a device cannot take another's session [MQTT-3.1.4-2]. */
  devices: MosquittoListener;
  /** The plane's servers only: ingest and outbound need client ids of their own. */
  service: MosquittoListener;
  /** Its log lines (errors and warnings only: connection notices would name every device) go to stderr under this name. */
  name: string;
  logger: Logger;
  /** As ChildCommandOptions.launchVia: e.g. `['ip', 'netns', 'exec', 'NS']` to start it on another host of a test network. */
  launchVia?: readonly string[];
  /** How long it may take to listen on both ports. */
  readyTimeoutMs?: number;
}

export interface MosquittoProcess {
  readonly name: string;
  readonly deviceUrl: string;
  readonly serviceUrl: string;
  readonly passwordFile: string;
  readonly aclFile: string;
  readonly pidFile: string;
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** What it logged so far. */
  log(): string;
  /** SIGTERM (Mosquitto closes its clients and exits), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<number | null>;
}

/** The loopback address of a listener bound to every address (IPv4 or IPv6); any other host as it is. */
export const loopbackFor = (host: string): string => (host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host);

const urlOf = ({ host, port }: MosquittoListener): string => `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;

function listening({ host, port }: MosquittoListener): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: loopbackFor(host), port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** mosquitto.conf as docs/planes.md recommends it: no anonymous login, deny-by-default ACL, two listeners. */
export function mosquittoConf(
  options: Pick<MosquittoOptions, 'devices' | 'service'>,
  files: { passwordFile: string; aclFile: string; pidFile: string },
): string {
  return [
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
    `listener ${options.devices.port} ${options.devices.host}`,
    'use_username_as_clientid true',
    `listener ${options.service.port} ${options.service.host}`,
    '',
  ].join('\n');
}

/**
 * Starts one Mosquitto broker with brewtel's files: the password and ACL files are created empty
 * when missing (Mosquitto refuses to start without its password file) and are the server's to fill;
 * lines already there (an earlier run) are kept for the server to reconcile. Resolves once both
 * listeners accept connections; rejects with its log when it exits or does not listen in time.
 */
export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoProcess> {
  checkMosquittoBinary(options.binary);
  ensureOwnerOnlyDir(options.dir);
  const files = { passwordFile: join(options.dir, 'passwd'), aclFile: join(options.dir, 'acl'), pidFile: join(options.dir, 'mosquitto.pid') };
  for (const file of [files.passwordFile, files.aclFile]) if (!existsSync(file)) await writeFile(file, '', { mode: 0o600 });
  const conf = join(options.dir, 'mosquitto.conf');
  await writeFile(conf, mosquittoConf(options, files), { mode: 0o600 });
  const [via, ...viaArgs] = options.launchVia ?? [];
  const command = via === undefined ? { file: options.binary, args: ['-c', conf] } : { file: via, args: [...viaArgs, options.binary, '-c', conf] };
  const child: ChildProcess = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log += `${line}\n`;
    process.stderr.write(`[${options.name}] ${line}\n`);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      log += `${error.message}\n`;
      resolve(null);
    });
  });
  const stop = (graceMs = 10_000): Promise<number | null> =>
    stopProcess(child, exited, 'SIGTERM', graceMs, () => options.logger.warn({ child: options.name, graceMs }, 'mosquitto did not stop in time; killing it'));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  while (!((await listening(options.devices)) && (await listening(options.service)))) {
    if (gone || Date.now() > deadline) {
      await stop(1_000);
      throw new Error(`${options.name} did not start${log ? `: ${log.trim().split('\n').at(-1)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name: options.name, deviceUrl: urlOf(options.devices), serviceUrl: urlOf(options.service), ...files, exited, log: () => log, stop };
}
