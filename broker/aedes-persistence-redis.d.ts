// aedes-persistence-redis 12 ships no typings; this is the part broker/cluster.ts uses.
declare module 'aedes-persistence-redis' {
  import type { Redis, RedisOptions } from 'ioredis';

  interface RedisPersistence {
    destroy(): Promise<void>;
    destroy(callback: () => void): void;
  }

  function aedesPersistenceRedis(options?: RedisOptions & { conn?: Redis; maxSessionDelivery?: number }): RedisPersistence;
  export = aedesPersistenceRedis;
}
