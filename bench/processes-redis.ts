/**
 * What Redis and the cluster nodes say about a bench:processes cluster case: Redis' CPU share over
 * the case, the cost of its PUBLISH calls, its pattern and channel subscriptions at the end, and
 * each node's count of pub/sub drops and of messages it missed (broker/cluster-emitter.ts).
 */
import { Redis } from 'ioredis';
import { REDIS_URL } from '../test/support/redis.ts';

interface RedisSample {
  at: number;
  cpuSeconds: number;
  publishCalls: number;
  publishUsec: number;
  /** aedes-persistence-redis' retained lookup by scan (issue 14: one per wildcard SUBSCRIBE before broker/redis-retained-lookup.ts). */
  hscanCalls: number;
  hscanUsec: number;
  /** Microseconds of Redis' thread spent per command name, since Redis started. */
  usecByCommand: Map<string, number>;
}

async function sample(redis: Redis): Promise<RedisSample> {
  const info = (await redis.info('all')) as string;
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const publish = /^cmdstat_publish:calls=(\d+),usec=(\d+)/m.exec(info);
  const hscan = /^cmdstat_hscan:calls=(\d+),usec=(\d+)/m.exec(info);
  return {
    at: performance.now(),
    cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'),
    publishCalls: Number(publish?.[1] ?? 0),
    publishUsec: Number(publish?.[2] ?? 0),
    hscanCalls: Number(hscan?.[1] ?? 0),
    hscanUsec: Number(hscan?.[2] ?? 0),
    usecByCommand: new Map([...info.matchAll(/^cmdstat_([\w|]+):calls=\d+,usec=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])])),
  };
}

export interface ClusterWatch {
  /** Redis figures since `watchCluster`, and the nodes' loss counters, as summary fields. */
  finish(): Promise<Record<string, string>>;
}

export async function watchCluster(prefix: string, metricsUrls: string[]): Promise<ClusterWatch> {
  const redis = new Redis(REDIS_URL);
  redis.on('error', () => undefined);
  const first = await sample(redis);
  return {
    async finish() {
      try {
        const last = await sample(redis);
        const calls = last.publishCalls - first.publishCalls;
        const numpat = Number(await redis.pubsub('NUMPAT'));
        const channels = ((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).length;
        const counters = await Promise.all(metricsUrls.map((url) => lossCounters(url)));
        return {
          redis_cpu_pct: ((100 * (last.cpuSeconds - first.cpuSeconds)) / ((last.at - first.at) / 1000)).toFixed(0),
          redis_publishes: String(calls),
          redis_publish_us: calls > 0 ? ((last.publishUsec - first.publishUsec) / calls).toFixed(1) : '-',
          redis_hscans: String(last.hscanCalls - first.hscanCalls),
          redis_hscan_s: ((last.hscanUsec - first.hscanUsec) / 1e6).toFixed(1),
          // Where Redis' thread went over the case: the three costliest commands, in seconds.
          redis_top: [...last.usecByCommand]
            .map(([name, usec]) => [name, usec - (first.usecByCommand.get(name) ?? 0)] as const)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([name, usec]) => `${name}:${(usec / 1e6).toFixed(1)}s`)
            .join(','),
          redis_numpat: String(numpat),
          redis_channels: String(channels),
          cluster_subscriber_drops: counters.map((c) => c.drops).join('/'),
          cluster_messages_lost: counters.map((c) => c.lost).join('/'),
        };
      } finally {
        redis.disconnect();
      }
    },
  };
}

async function lossCounters(url: string): Promise<{ drops: string; lost: string }> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    const value = (name: string): string =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.slice(name.length + 1) ?? '?';
    return { drops: value('brewtel_broker_cluster_subscriber_drops_total'), lost: value('brewtel_broker_cluster_messages_lost_total') };
  } catch {
    return { drops: '?', lost: '?' };
  }
}
