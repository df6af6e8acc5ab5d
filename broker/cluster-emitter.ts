import { randomBytes } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { Redis } from 'ioredis';
import mqemitter from 'mqemitter';
import { sequenceGaps } from './cluster-sequence-gaps.ts';

/**
 * The cluster's message bus (what aedes calls `mq`): every message of every node goes through one
 * Redis channel, `{keyPrefix}messages`, and each node matches topics to its own subscribers in
 * memory (mqemitter, the emitter aedes uses on a single node).
 *
 * mqemitter-redis, used before, sent every distinct topic filter to Redis: a `PSUBSCRIBE` for each
 * filter with a wildcard. Every device subscribes to its own `coffee/v1/{id}/cmd/#`, so Redis held a
 * pattern per connected device and matched every `PUBLISH` against all of them (857 µs a message at
 * about 7,800 devices, Redis at 75-84 % CPU while the nodes idled at 6 %; docs/benchmarks.md). Here
 * each node holds one `SUBSCRIBE`, whatever its clients subscribe to, and a `PUBLISH` costs Redis the
 * same at 10 devices as at 100,000. The price: each node receives every message of the cluster,
 * including those none of its clients wants, and drops them after a match in memory (cheap next to
 * a Redis round trip; with a handful of nodes that is what a fleet's traffic looks like anyway,
 * since the ingest subscribes to every event).
 *
 * Delivery is what aedes saw with mqemitter-redis: a node's own messages come back to it through
 * Redis like everyone else's and are delivered then, once (one subscription per node, so no copy to
 * drop: mqemitter-redis needed a cache of message ids because a message could match several of its
 * Redis subscriptions); `emit` calls back once Redis has taken the message; `on` calls back once the
 * node's Redis subscription is in place, so a SUBACK never goes out before the node hears the cluster.
 * Messages cross as `v8.serialize([sender, sequence, packet])`: Buffers, `undefined` and MQTT 5
 * properties come back as they went.
 *
 * Lost messages are counted, not silent: see cluster-sequence-gaps.ts, and `onSubscriberLost` for
 * the moment a node's subscription drops (ioredis reconnects and subscribes again by itself).
 */
type Local = ReturnType<typeof mqemitter>;
export type Message = Parameters<Local['emit']>[0];
export type Listener = Parameters<Local['on']>[1];

export interface ClusterEmitter {
  on(topic: string, listener: Listener, callback?: () => void): ClusterEmitter;
  removeListener(topic: string, listener: Listener, callback?: () => void): void;
  emit(message: Message, callback?: (error?: Error) => void): void;
  close(callback: () => void): void;
  /** This node's sender id on the channel, and the Redis client names of its two connections. */
  readonly senderId: string;
  readonly connectionNames: { publisher: string; subscriber: string };
}

export interface ClusterEmitterEvents {
  /** An error of either Redis connection, or a message on the channel that is not one of ours. */
  onError(connection: 'emitter', error: Error): void;
  /** The subscriber's connection closed while the node was running: what is published until it is back is lost to this node. */
  onSubscriberLost(): void;
  /** `count` messages of `sender` never reached this node (known when its next one arrives). */
  onMessagesLost(count: number, sender: string): void;
}

/** A sender silent this long is forgotten (a stopped node); a live one publishes far more often (aedes' heartbeat is every 60 s). */
const FORGET_SENDER_MS = 10 * 60_000;

export function createClusterEmitter(redisUrl: string, keyPrefix: string, events: ClusterEmitterEvents): ClusterEmitter {
  const channel = `${keyPrefix}messages`;
  const senderId = randomBytes(8).toString('hex');
  const connectionNames = { publisher: `brewtel-pub-${senderId}`, subscriber: `brewtel-sub-${senderId}` };
  // No keyPrefix on these connections: ioredis prefixes keys, never channels, so the prefix is in the name.
  const publisher = new Redis(redisUrl, { connectionName: connectionNames.publisher, enableAutoPipelining: true });
  const subscriber = new Redis(redisUrl, { connectionName: connectionNames.subscriber });
  const local = mqemitter();
  const gaps = sequenceGaps(FORGET_SENDER_MS);
  let sequence = 0;
  let closing = false;
  let subscribed = false;

  publisher.on('error', (error: Error) => events.onError('emitter', error));
  subscriber.on('error', (error: Error) => events.onError('emitter', error));
  // The first SUBSCRIBE waits in ioredis' offline queue while Redis is away; later ones ioredis
  // repeats itself after each reconnect (autoResubscribe).
  const subscribedOnce = subscriber.subscribe(channel).then(
    () => {
      subscribed = true;
    },
    (error: unknown) => events.onError('emitter', error instanceof Error ? error : new Error(String(error))),
  );
  subscriber.on('close', () => {
    if (closing || !subscribed) return;
    subscribed = false;
    events.onSubscriberLost();
  });
  subscriber.on('ready', () => {
    subscribed = true;
  });
  subscriber.on('messageBuffer', (from: Buffer, data: Buffer) => {
    if (from.toString('utf8') !== channel) return;
    const decoded = decode(data);
    if (decoded === null) {
      events.onError('emitter', new Error(`a message on ${channel} that is not [sender, sequence, packet] (${data.length} bytes); dropped`));
      return;
    }
    const [sender, number, packet] = decoded;
    const missed = gaps.heard(sender, number);
    if (missed > 0) events.onMessagesLost(missed, sender);
    local.emit(packet);
  });
  const forgetting = setInterval(() => gaps.forgetQuiet(Date.now()), 60_000);
  forgetting.unref();

  const emitter: ClusterEmitter = {
    senderId,
    connectionNames,
    on(topic, listener, callback) {
      local.on(topic, listener);
      void subscribedOnce.then(() => {
        if (callback) setImmediate(callback);
      });
      return emitter;
    },
    removeListener(topic, listener, callback) {
      local.removeListener(topic, listener, callback);
    },
    emit(message, callback) {
      const done = callback ?? ((error?: Error) => error && events.onError('emitter', error));
      if (closing) return done(new Error('the cluster emitter is closed'));
      sequence++;
      publisher.publish(channel, serialize([senderId, sequence, message])).then(
        () => done(),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
      );
    },
    close(callback) {
      if (closing) return callback();
      closing = true;
      clearInterval(forgetting);
      void Promise.allSettled([publisher.quit(), subscriber.quit()]).then(() => local.close(callback));
    },
  };
  return emitter;
}

function decode(data: Buffer): [string, number, Message] | null {
  let value: unknown;
  try {
    value = deserialize(data);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [sender, number, packet] = value as unknown[];
  if (typeof sender !== 'string' || !Number.isSafeInteger(number)) return null;
  if (typeof packet !== 'object' || packet === null || typeof Reflect.get(packet, 'topic') !== 'string') return null;
  return [sender, number as number, packet as Message];
}
