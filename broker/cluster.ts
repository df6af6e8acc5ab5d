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

export function createClusterBackends(cluster: NonNullable<BrokerConfig['cluster']>): ClusterBackends {
  const persistence = aedesPersistenceRedis({ conn: new Redis(cluster.redisUrl, { keyPrefix: cluster.keyPrefix }) });
  const inner = mqemitterRedis({ connectionString: cluster.redisUrl });
  return {
    mq: prefixTopics(inner, cluster.keyPrefix),
    persistence,
    close: () => new Promise((resolve) => persistence.destroy(() => resolve())),
  };
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
