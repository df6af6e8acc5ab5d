import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/redis.ts';

const BROKER_MAIN = fileURLToPath(new URL('../../broker/main.ts', import.meta.url));

/** A port free right now, so a process can be restarted on the same address it had before. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface BrokerProcessOptions {
  port: number;
  deviceAuthUrl: string;
  deviceAuthToken: string;
  ingest: { username: string; password: string };
  /** Sessions, retained messages and queues live in Redis under this prefix (cluster mode, even for one node). */
  redisPrefix?: string;
  /** More flags of broker/main.ts (limits, log level), after the defaults. */
  extraArgs?: readonly string[];
  /** Node flags for the broker's process, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
}

/** Our broker (broker/main.ts) as its own process, so a scenario can SIGKILL it and start it again on the same port. */
export class BrokerProcess {
  #child: ChildProcess | null = null;
  readonly url: string;

  constructor(private readonly options: BrokerProcessOptions) {
    this.url = `mqtt://127.0.0.1:${options.port}`;
  }

  start(): Promise<void> {
    const o = this.options;
    const cluster = o.redisPrefix ? ['--cluster-redis', REDIS_URL, '--cluster-prefix', o.redisPrefix] : [];
    const args = [
      BROKER_MAIN,
      '--port',
      String(o.port),
      '--ws-port',
      'off',
      '--device-auth-url',
      o.deviceAuthUrl,
      ...cluster,
      '--log-level',
      'warn',
      ...(o.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', ...args], {
      env: { ...process.env, BREWTEL_DEVICE_AUTH_TOKEN: o.deviceAuthToken, BREWTEL_SERVICE_ACCOUNTS: `${o.ingest.username}:${o.ingest.password}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child = child;
    return new Promise((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`broker did not start: ${stderr.slice(-1000)}`)), 30_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('brewtel broker:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`broker exited (${code}): ${stderr.slice(-1000)}`));
      });
    });
  }

  /** The running process's id (for its CPU time in /proc), undefined when none runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** SIGKILL: no goodbye to clients, nothing flushed; only what Redis holds survives. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  /**
   * SIGTERM: the orderly restart an operator does. Rejects when the broker had to be killed after
   * 10 s: a restart that is not orderly must not pass as one (a Redis-backed node once never exited).
   */
  async stop(): Promise<void> {
    if (await this.#signal('SIGTERM')) throw new Error('the broker did not exit within 10 s of SIGTERM and was killed');
  }

  /** Resolves true when the process had to be killed after the signal. */
  async #signal(signal: NodeJS.Signals): Promise<boolean> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    // An orderly stop that hangs is finished the hard way; the scenario must stay bounded.
    let killed = false;
    const timer = setTimeout(() => {
      killed = signal !== 'SIGKILL';
      child.kill('SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
    return killed;
  }
}

/** Removes a cluster's keys so repeated runs never see each other's sessions. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
