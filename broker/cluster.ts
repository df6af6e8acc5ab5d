import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import { createClusterEmitter, type ClusterEmitter, type ClusterEmitterEvents } from './cluster-emitter.ts';
import type { BrokerConfig } from './config.ts';
import { lookUpRetainedByIndex } from './redis-retained-lookup.ts';

/**
 * Cluster mode: several broker processes share subscriptions, retained messages, sessions and
 * their offline queues through Redis (aedes-persistence-redis 12), and every message through one
 * Redis pub/sub channel per cluster (cluster-emitter.ts). The key prefix keeps several clusters
 * apart on one Redis: ioredis prefixes the persistence keys, and the emitter's channel name starts
 * with it.
 */
export interface ClusterBackends {
  mq: ClusterEmitter;
  persistence: ReturnType<typeof aedesPersistenceRedis>;
  /** Closes the persistence connections; aedes closes the emitter itself. */
  close(): Promise<void>;
}

/**
 * aedes-persistence-redis re-sends at most `maxSessionDelivery` (default 1,000) queued messages when a
 * persistent session resumes, and aedes 1.2 reads that queue once per CONNECT: whatever lay beyond
 * stayed in Redis, acknowledged to its publisher and sent to nobody, until the client happened to
 * reconnect. The chaos suite lost events so whenever more than 1,000 piled up for the ingest while
 * it was away (a restarted broker that the devices reached first). The whole queue goes out instead,
 * paced by the socket as aedes writes it; the resume holds its list of keys (~60 bytes a message).
 */
const WHOLE_QUEUE = Number.MAX_SAFE_INTEGER;

/**
 * `events.onError` hears every error of the Redis connections (unreachable, refused, a failed ready
 * check). Unheard, an emitter's error ended the process: a Redis that was down at start, or went
 * away, crashed the broker instead of leaving ioredis to reconnect. The emitter's other events say
 * when this node's pub/sub subscription dropped and how many messages it missed.
 */
export interface ClusterEvents extends Omit<ClusterEmitterEvents, 'onError'> {
  onError(connection: 'persistence' | 'emitter', error: Error): void;
}

export function createClusterBackends(cluster: NonNullable<BrokerConfig['cluster']>, events: ClusterEvents): ClusterBackends {
  const store = new Redis(cluster.redisUrl, { keyPrefix: cluster.keyPrefix });
  store.on('error', (error: Error) => events.onError('persistence', error));
  // Retained lookups by an index instead of the library's HSCAN of every retained message per
  // wildcard SUBSCRIBE (issue 14); see broker/redis-retained-lookup.ts.
  const persistence = lookUpRetainedByIndex(shareConcurrentSubscriptionStores(aedesPersistenceRedis({ conn: store, maxSessionDelivery: WHOLE_QUEUE })), store);
  return {
    mq: createClusterEmitter(cluster.redisUrl, cluster.keyPrefix, events),
    persistence,
    // The promise form: the callback form waits for a 'ready' that only its own setup path sends,
    // and aedes 1.2 sets the persistence up through the promise one, so an orderly stop hung for good.
    close: () => persistence.destroy(),
  };
}

/**
 * aedes 1.2 stores a persistent session's SUBSCRIBE once per filter, each time with the packet's whole
 * list, all at once. The persistence then waits for its own cluster broadcast keyed by client id and
 * first topic, so with an emitter that answers asynchronously (Redis) the second wait replaces the
 * first and a SUBSCRIBE of two or more filters never gets its SUBACK. Calls for the same list share one
 * store and one broadcast.
 */
function shareConcurrentSubscriptionStores<P extends object>(persistence: P): P {
  const addSubscriptions: unknown = Reflect.get(persistence, 'addSubscriptions');
  if (typeof addSubscriptions !== 'function') throw new Error('aedes persistence has no addSubscriptions');
  const storing = new WeakMap<object, Promise<unknown>>();
  Reflect.set(persistence, 'addSubscriptions', (client: unknown, subs: object, callback?: unknown): unknown => {
    if (callback !== undefined) return Reflect.apply(addSubscriptions, persistence, [client, subs, callback]);
    let stored = storing.get(subs);
    if (!stored) {
      stored = Promise.resolve(Reflect.apply(addSubscriptions, persistence, [client, subs])).finally(() => storing.delete(subs));
      storing.set(subs, stored);
    }
    return stored;
  });
  return persistence;
}
