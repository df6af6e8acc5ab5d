import type { Client } from 'aedes';
import type { BrokerConfig } from './config.ts';
import { createTokenBucket, type TokenBucket } from './token-bucket.ts';

/** Why the broker cut a client off; the label of the log line and of the metric. */
export type LimitReason = 'publish_rate' | 'max_in_flight_in' | 'max_in_flight_in_bytes' | 'max_in_flight_out' | 'max_connections';

/**
 * Per-client publish rate. The bucket hangs off the aedes client object, so it disappears with the
 * connection. (The inbound QoS 2 cap is aedes' own maxInflightInbound, counted in broker.ts, with its bytes
 * capped in in-flight-in-bytes.ts; the outbound cap is in-flight-out.ts.)
 */
export interface PublishRateLimit {
  /** Called for every authorised PUBLISH; false means the client must be disconnected. */
  admit(client: Client, nowMs: number): boolean;
}

export function createPublishRateLimit(limits: BrokerConfig['limits']): PublishRateLimit {
  const buckets = new WeakMap<Client, TokenBucket>();
  return {
    admit(client, now) {
      let bucket = buckets.get(client);
      if (!bucket) {
        bucket = createTokenBucket(limits.publishPerSecond, limits.publishBurst, now);
        buckets.set(client, bucket);
      }
      return bucket.take(now);
    },
  };
}
