import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PrivateMosquitto {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface PrivateMosquittoOptions {
  /** Listen here (a restart on the address clients know); a free port when absent. */
  port?: number;
  /**
   * A Mosquitto password file (mosquitto_passwd format, hashed): anonymous clients are then refused
   * and every client logs in with a username and password from it, as devices would.
   */
  passwordFile?: string;
}

/** Hashes `user:password` lines in place with mosquitto_passwd -U, Mosquitto's own tool (PBKDF2-SHA512). */
export async function writeMosquittoPasswordFile(file: string, credentials: Iterable<{ username: string; password: string }>): Promise<void> {
  const lines: string[] = [];
  for (const { username, password } of credentials) lines.push(`${username}:${password}`);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  const child = spawn('mosquitto_passwd', ['-U', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`mosquitto_passwd -U exited with ${code}`);
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

/**
 * A Mosquitto of the benchmark's own on an ephemeral loopback port, never the machine's shared one.
 * No persistence and no per-client queue cap (unbounded like aedes'), so neither broker drops a
 * lagging subscriber's QoS 1 messages or writes to disk. Anonymous unless given a password file.
 */
export async function startPrivateMosquitto(options: PrivateMosquittoOptions = {}): Promise<PrivateMosquitto> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'brewtel-bench-mosquitto-'));
  // Started as root, Mosquitto drops to the `mosquitto` user before it reads the password file, which
  // then cannot open our owner-only temporary folder; staying the user that started it keeps the
  // file private (no effect when not started as root).
  const access =
    options.passwordFile === undefined
      ? 'allow_anonymous true\n'
      : `allow_anonymous false\npassword_file ${options.passwordFile}\nuser ${userInfo().username}\n`;
  writeFileSync(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\n${access}persistence false\nmax_queued_messages 0\nlog_dest none\n`);
  const child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(5_000).then(() => child.kill('SIGKILL'))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, child, stop };
}
