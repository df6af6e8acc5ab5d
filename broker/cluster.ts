import { EventEmitter } from 'node:events';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { BrokerConfig } from './config.ts';

/**
 * Cluster mode: several broker processes share subscriptions, retained messages, sessions and
 * their offline queues through Redis (aedes-persistence-redis 12), and every message through Redis
 * pub/sub (mqemitter-redis). The key prefix keeps several clusters apart on one Redis: ioredis
 * prefixes the persistence keys, and the emitter's channels (topics, which ioredis never prefixes)
 * get the same prefix here.
 */
type Emitter = ReturnType<typeof mqemitterRedis>;
type Listener = Parameters<Emitter['on']>[1];
type Message = Parameters<Emitter['emit']>[0];

export interface ClusterBackends {
  mq: Pick<Emitter, 'on' | 'removeListener' | 'emit' | 'close'>;
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
 * `onError` hears every error of the Redis connections (unreachable, refused, a failed ready check).
 * Unheard, the emitter's error ended the process: a Redis that was down at start, or went away,
 * crashed the broker instead of leaving ioredis to reconnect.
 */
export function createClusterBackends(cluster: NonNullable<BrokerConfig['cluster']>, onError: (connection: string, error: Error) => void): ClusterBackends {
  const store = new Redis(cluster.redisUrl, { keyPrefix: cluster.keyPrefix });
  store.on('error', (error: Error) => onError('persistence', error));
  const persistence = shareConcurrentSubscriptionStores(aedesPersistenceRedis({ conn: store, maxSessionDelivery: WHOLE_QUEUE }));
  const inner = mqemitterRedis({ connectionString: cluster.redisUrl });
  // The emitter reports its connections' errors on `state`, which its typings leave out.
  const state: unknown = Reflect.get(inner, 'state');
  if (!(state instanceof EventEmitter)) throw new Error('mqemitter-redis has no state emitter to hear its errors on');
  state.on('error', (error: Error) => onError('emitter', error));
  return {
    mq: prefixTopics(inner, cluster.keyPrefix),
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

function prefixTopics(inner: Emitter, prefix: string): ClusterBackends['mq'] {
  const wrappers = new WeakMap<Listener, Listener>();
  const wrap = (listener: Listener): Listener => {
    let wrapper = wrappers.get(listener);
    if (!wrapper) {
      wrapper = (message: Message, done: () => void) => listener({ ...message, topic: message.topic.slice(prefix.length) }, done);
      wrappers.set(listener, wrapper);
    }
    return wrapper;
  };
  const mq: ClusterBackends['mq'] = {
    on(topic, listener, callback) {
      inner.on(prefix + topic, wrap(listener), callback);
      return mq as Emitter;
    },
    removeListener(topic, listener, callback) {
      inner.removeListener(prefix + topic, wrap(listener), callback);
    },
    emit(message, callback) {
      inner.emit({ ...message, topic: prefix + message.topic }, callback);
    },
    close(callback) {
      inner.close(callback);
    },
  };
  return mq;
}
