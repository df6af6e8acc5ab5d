/**
 * A single aedes node whose sessions, subscriptions, retained messages and offline queues live in
 * Redis (aedes-persistence-redis, the backend broker/cluster.ts uses), run as its own process so a
 * chaos scenario can SIGKILL it. No auth: the scenario is about what survives a crash.
 *   tsx test/chaos/aedes-redis-node.ts PORT KEY_PREFIX
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import { REDIS_URL } from './processes.ts';

const [port, prefix] = process.argv.slice(2);
const conn = new Redis(REDIS_URL, { keyPrefix: prefix });
const persistence = aedesPersistenceRedis({ conn });
const broker = await Aedes.createBroker({ persistence });
const server = createServer(broker.handle).listen(Number(port), '127.0.0.1', () => console.error(`brewtel broker: aedes with Redis persistence on ${port}`));
// SIGTERM is the orderly restart: stop listening and close every client; aedes' close with this
// persistence does not always call back, so the process ends on its own after a short grace period.
process.once('SIGTERM', () => {
  server.close();
  broker.close(() => persistence.destroy(() => conn.disconnect()));
  setTimeout(() => process.exit(0), 1_000).unref();
});
