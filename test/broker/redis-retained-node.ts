import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Readable } from 'node:stream';
import { Aedes } from 'aedes';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import { lookUpRetainedByIndex } from '../../broker/redis-retained-lookup.ts';
import { REDIS_URL } from '../support/redis.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * One aedes 2 node on aedes-persistence-redis 12 under a key prefix, with or without the retained
 * topic index (broker/redis-retained-lookup.ts), listening on a free loopback port; every command
 * its persistence connection sends is recorded by name. For the retained lookup suite and bench.
 */
export interface RetainedNode {
  url: string;
  /** Names of the Redis commands this node's persistence connection sent, in order. */
  commands: string[];
  /** Retained lookups (one per SUBSCRIBE) whose stream has ended: all their Redis work done. */
  lookupsDone(): number;
  persistence: { storeRetained(packet: object): Promise<void> };
  close(): Promise<void>;
}

export async function startRetainedNode(prefix: string, indexed: boolean): Promise<RetainedNode> {
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix });
  const commands: string[] = [];
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command, stream) => {
    commands.push(command.name.toLowerCase());
    return send(command, stream);
  }) as typeof redis.sendCommand;
  const plain = aedesPersistenceRedis({ conn: redis });
  const persistence = indexed ? lookUpRetainedByIndex(plain, redis) : plain;
  let lookupsDone = 0;
  const streamCombi = Reflect.get(persistence, 'createRetainedStreamCombi') as (filters: string[]) => Readable;
  Reflect.set(persistence, 'createRetainedStreamCombi', (filters: string[]) => streamCombi.call(persistence, filters).once('close', () => lookupsDone++));
  const aedes = await Aedes.createBroker({ persistence });
  // No Nagle delay on the broker's writes: the time measured is the lookup's, not TCP's.
  const server: Server = createServer((socket) => aedes.handle(socket.setNoDelay(true)));
  let closed = false;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    commands,
    lookupsDone: () => lookupsDone,
    persistence: persistence as unknown as RetainedNode['persistence'],
    async close() {
      if (closed) return;
      closed = true;
      // The library's delWill fires an LREM it does not wait for when a client leaves: let the
      // clients go and that connection drain (a PING answers after what was sent before it).
      await waitUntil('clients to leave', () => aedes.connectedClients === 0, 5_000);
      await redis.ping();
      // aedes first: it ends its clients, which the listener's close waits for.
      const listening = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await listening;
      await plain.destroy();
    },
  };
}
