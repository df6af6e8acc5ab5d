/**
 * The server-side processes of bench:processes: one server (HTTP API, registry, ingest on SQLite) and
 * one or more of our broker nodes (authentication on, default limits but for the connection cap);
 * more than one node run in cluster mode over Redis, as the README's cluster recipe starts them.
 * The server's ingest logs in to the first node; with a cluster it hears every node's devices.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BrokerProcess, dropRedisPrefix, freePort } from '../test/chaos/processes.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';

export interface ProcessStackOptions {
  dataDir: string;
  brokerNodes: number;
  /** Connections each node accepts (`--max-connections`). */
  maxConnectionsPerNode: number;
}

export interface ProcessStack {
  server: ServerProcess;
  adminToken: string;
  brokers: BrokerProcess[];
  /** Each node's MQTT URL, in node order. */
  brokerUrls: string[];
  /** Each node's /metrics URL, in node order. */
  metricsUrls: string[];
  /** Redis key prefix of the cluster; null for a single node (in memory). */
  redisPrefix: string | null;
  stop(): Promise<void>;
}

/** Starts the server, then the nodes (the server's ingest connects once its node listens). */
export async function startProcessStack(options: ProcessStackOptions): Promise<ProcessStack> {
  const adminToken = randomBytes(24).toString('base64url');
  const brokerToken = randomBytes(24).toString('base64url');
  const ingest = { username: 'svc-ingest', password: randomBytes(24).toString('base64url') };
  const ports = await Promise.all(Array.from({ length: options.brokerNodes }, () => freePort()));
  const brokerUrls = ports.map((port) => `mqtt://127.0.0.1:${port}`);
  const metricsPorts = await Promise.all(ports.map(() => freePort()));
  const metricsUrls = metricsPorts.map((port) => `http://127.0.0.1:${port}/metrics`);
  const redisPrefix = options.brokerNodes > 1 ? `brewtel-bench-processes-${randomBytes(4).toString('hex')}:` : null;
  const server = await startServerProcess({ dataDir: join(options.dataDir, 'data'), adminToken, brokerToken, mqttUrl: brokerUrls[0]!, ingest });
  const brokers = ports.map(
    (port, n) =>
      new BrokerProcess({
        port,
        deviceAuthUrl: `${server.httpUrl}/api/v1/broker/device-auth`,
        deviceAuthToken: brokerToken,
        ingest,
        ...(redisPrefix === null ? {} : { redisPrefix }),
        extraArgs: ['--max-connections', String(options.maxConnectionsPerNode), '--metrics-port', String(metricsPorts[n])],
      }),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(brokers.map((b) => b.stop().catch(() => undefined)));
    await server.stop();
    if (redisPrefix !== null) await dropRedisPrefix(redisPrefix);
  };
  try {
    await Promise.all(brokers.map((b) => b.start()));
  } catch (error) {
    await stop();
    throw error;
  }
  return { server, adminToken, brokers, brokerUrls, metricsUrls, redisPrefix, stop };
}

/** The server's stored-events counter (every region and store), from its /metrics. */
export async function storedEvents(server: ServerProcess): Promise<number | null> {
  try {
    const text = await (await fetch(`${server.httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    let total = 0;
    for (const line of text.split('\n')) if (/^brewtel_ingest_stored_total(\{|\s)/.test(line)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    return total;
  } catch {
    return null;
  }
}
