import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { freePort } from '../../launcher/planes.ts';
import { REDIS_URL, redisReachable } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, INGEST, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const redisAvailable = await redisReachable();
if (!redisAvailable && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);

/** A TCP relay on `port` to the machine's Redis: Redis "comes back" when it starts listening. */
async function relayToRedis(port: number): Promise<{ server: Server; sockets: Set<Socket> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => sockets.delete(socket));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, sockets };
}

/**
 * A cluster node whose Redis is unreachable at start: the errors of its Redis connections are
 * counted and logged while ioredis retries, the process goes on (the emitter's unheard error used to
 * end it), and once Redis answers the node finishes starting and takes logins.
 */
describe.skipIf(!redisAvailable)('a cluster node started while its Redis is away', () => {
  let registry: DeviceRegistry | undefined;
  let broker: TcpBroker | undefined;
  let relay: Awaited<ReturnType<typeof relayToRedis>> | undefined;
  afterAll(async () => {
    await broker?.close();
    for (const socket of relay?.sockets ?? []) socket.destroy();
    await new Promise((resolve) => (relay ? relay.server.close(resolve) : resolve(undefined)));
    await registry?.close();
  });

  it('logs and counts the Redis errors without ending the process, and starts once Redis answers', async () => {
    registry = await startDeviceRegistry({});
    const port = await freePort('127.0.0.1');
    const { logger, lines } = captureLogs();
    const started = brokerFor(registry, logger, {
      cluster: { redisUrl: `redis://127.0.0.1:${port}`, keyPrefix: `brewtel-test-${randomBytes(6).toString('hex')}:` },
    });
    await waitUntil('the Redis errors logged', () => lines.some((line) => line.includes('cluster Redis error')), 10_000);
    const errorLines = lines.filter((line) => line.includes('cluster Redis error')).map((line) => JSON.parse(line) as { connection: string; err: string });
    expect(errorLines[0]).toMatchObject({ err: expect.stringContaining('ECONNREFUSED') });

    relay = await relayToRedis(port);
    broker = await started;
    expect(broker.stats().clusterErrors).toBeGreaterThan(0);
    const client = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'svc-redis-away',
      username: INGEST.username,
      password: INGEST.password,
      reconnectPeriod: 0,
    });
    await client.endAsync();
  }, 40_000);
});
