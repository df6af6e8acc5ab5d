import type { Aedes } from 'aedes';

/**
 * aedes 1.2 skips a delivery to a client unless the message's per-broker counter is higher than the
 * last one that client got from that broker, to send one copy where several of the client's
 * subscriptions match. The counter is taken when a publish starts, but publishes overtake each other
 * on the way to the subscribers: a retained one waits for the retained store first, so the events a
 * device sends right after its retained `online` reach the ingest before it, and the `online` is
 * then skipped. For a persistent session that skip loses an acknowledged QoS 1 message: in Redis it
 * stays queued, unsent, until the session resumes again, and the in-memory store, asked to forget a
 * message that has no packet identifier yet, forgets the first such one it finds, another message,
 * whose own delivery then fails ("no such packet"), drops the subscriber and is gone.
 *
 * Every matching delivery goes out instead: a client whose subscriptions overlap gets one copy per
 * match, as MQTT 3.1.1 allows (3.3.5) and Mosquitto 2 does. This runs before CONNECT is handled, so
 * before the client has any subscription; the counters are read from `duplicates`, which is made a
 * record that remembers nothing.
 */
export function deliverEveryMatch(broker: Aedes): void {
  const preConnect = broker.preConnect;
  broker.preConnect = (client, packet, done) => {
    Reflect.set(client, 'duplicates', REMEMBERS_NOTHING);
    preConnect(client, packet, done);
  };
}

// Writes are accepted and dropped (aedes' modules are strict, so a frozen object would throw).
const REMEMBERS_NOTHING: Record<string, number> = new Proxy(Object.create(null) as Record<string, number>, {
  set: () => true,
  defineProperty: () => true,
});
