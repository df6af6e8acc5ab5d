import type { Logger } from 'pino';
import type { ClusterEvents } from './cluster.ts';

/** What the cluster's Redis connections report, as counters (metrics) and log lines. */
export interface ClusterCounters {
  clusterErrors: number;
  clusterSubscriberDrops: number;
  clusterMessagesLost: number;
}

/** One line per kind every 10 s at most: ioredis retries for as long as Redis is away, and a dropped subscriber may miss thousands; all are counted. */
const LOG_EVERY_MS = 10_000;

export function clusterEventLog(counters: ClusterCounters, logger: Logger): ClusterEvents {
  const loggedAt = new Map<string, number>();
  const due = (kind: string): boolean => {
    const now = Date.now();
    if (now - (loggedAt.get(kind) ?? 0) < LOG_EVERY_MS) return false;
    loggedAt.set(kind, now);
    return true;
  };
  return {
    onError(connection, error) {
      counters.clusterErrors++;
      if (due(`error:${connection}`)) logger.error({ connection, err: error.message, errors: counters.clusterErrors }, 'cluster Redis error, reconnecting');
    },
    onSubscriberLost() {
      counters.clusterSubscriberDrops++;
      // Always logged: rare, and the reason (often Redis' client-output-buffer-limit for pubsub) is in Redis' own log.
      logger.error(
        { drops: counters.clusterSubscriberDrops },
        'cluster Redis subscriber disconnected: messages of other nodes published until it has resubscribed are lost to this node (see Redis log: client-output-buffer-limit pubsub?)',
      );
    },
    onMessagesLost(count, sender) {
      counters.clusterMessagesLost += count;
      if (due('lost'))
        logger.error({ lost: count, from: sender, lostTotal: counters.clusterMessagesLost }, 'cluster messages lost between nodes (Redis pub/sub gap)');
    },
  };
}
