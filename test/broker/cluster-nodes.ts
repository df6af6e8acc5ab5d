import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/redis.ts';
import { INGEST } from './support.ts';

/** broker/main.ts processes of one cluster (one Redis, one key prefix), for the cluster suites. */
const MAIN = fileURLToPath(new URL('../../broker/main.ts', import.meta.url));

export interface ClusterNode {
  process: ChildProcess;
  url: string;
  port: number;
  /** The node's /metrics URL when started with `--metrics-port`. */
  metricsUrl: string | null;
}

export interface ClusterNodes {
  /** Starts a node asking `auth` about device secrets; port 0 picks a free one. */
  start(port?: number, extraArgs?: string[]): Promise<ClusterNode>;
  /** SIGKILLs every node still running and deletes the cluster's Redis keys. */
  stopAll(): Promise<void>;
}

export function clusterNodes(prefix: string, auth: () => { url: string; token: string }): ClusterNodes {
  const nodes = new Set<ChildProcess>();
  return {
    start: (port = 0, extraArgs: string[] = []) =>
      new Promise((resolve, reject) => {
        const { url, token } = auth();
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            MAIN,
            '--port',
            String(port),
            '--ws-port',
            'off',
            '--device-auth-url',
            url,
            '--cluster-redis',
            REDIS_URL,
            '--cluster-prefix',
            prefix,
            '--log-level',
            'warn',
            ...extraArgs,
          ],
          {
            env: { ...process.env, BREWTEL_DEVICE_AUTH_TOKEN: token, BREWTEL_SERVICE_ACCOUNTS: `${INGEST.username}:${INGEST.password}` },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        nodes.add(child);
        child.once('exit', () => nodes.delete(child));
        let stderr = '';
        const timer = setTimeout(() => reject(new Error(`broker node did not start: ${stderr}`)), 20_000);
        child.stderr!.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          const match = /brewtel broker: (mqtt:\/\/127\.0\.0\.1:(\d+))/.exec(stderr);
          if (match) {
            clearTimeout(timer);
            const metrics = /(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr);
            resolve({ process: child, url: match[1]!, port: Number(match[2]), metricsUrl: metrics?.[1] ?? null });
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`broker node exited (${code}): ${stderr}`));
        });
      }),
    async stopAll() {
      await Promise.all(
        [...nodes].map(
          (child) =>
            new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      const redis = new Redis(REDIS_URL);
      try {
        for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>)
          if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
    },
  };
}
