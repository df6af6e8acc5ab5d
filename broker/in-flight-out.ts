import type { Client, PublishPacket } from 'aedes';

/**
 * Counts QoS 1/2 messages the broker delivered to each client and the client has not acknowledged,
 * so a subscriber that reads but never answers PUBACK can be cut off at `max` instead of holding
 * ever more state (and, past 65,535, reusing packet identifiers still in use).
 *
 * aedes 1.2 has no hook "a QoS > 0 PUBLISH is being written", only authorizeForward, which it also
 * calls for deliveries it then downgrades to QoS 0. A live delivery at QoS > 0 runs through the
 * client's own `deliverQoS` (which `watch` wraps, before the client can subscribe), which tells them
 * apart. A resumed session's queue is not counted: aedes sends all of it at once, so counting it
 * would cut off, on every resume, a session holding more than the cap. Acknowledgements of those
 * still lower the count (never below zero), so the cap errs on the lenient side after a resume.
 */
export interface InFlightOut {
  /** Call once the client is authenticated, before aedes restores or adds its subscriptions. */
  watch(client: Client): void;
  /** From authorizeForward: false when this delivery takes the client over the cap. */
  forwarded(client: Client, packet: PublishPacket): boolean;
  /** From aedes' 'ack' event (a PUBACK from the client). */
  acked(client: Client): void;
  count(client: Client): number;
}

type Deliver = (packet: PublishPacket, done: () => void) => void;

export function createInFlightOut(max: number): InFlightOut {
  const counts = new WeakMap<Client, number>();
  // Set only while a client's deliverQoS runs; aedes calls authorizeForward synchronously inside it.
  let deliveringQoS: Client | null = null;

  return {
    watch(client) {
      const original: unknown = Reflect.get(client, 'deliverQoS');
      if (typeof original !== 'function') return;
      const deliver = original as Deliver;
      // Inline, not bound to a name: run through tsx (esbuild's keepNames), a closure bound to a
      // name gets that name defined as an own property, a 256-byte property store per connection.
      Reflect.set(client, 'deliverQoS', (packet: PublishPacket, done: () => void): void => {
        deliveringQoS = packet.qos > 0 ? client : null;
        try {
          deliver(packet, done);
        } finally {
          deliveringQoS = null;
        }
      });
    },
    forwarded(client, packet) {
      if (deliveringQoS !== client || downgradedToQoS0(client, packet.topic)) return true;
      const n = (counts.get(client) ?? 0) + 1;
      counts.set(client, n);
      return n <= max;
    },
    acked(client) {
      const n = counts.get(client) ?? 0;
      if (n > 0) counts.set(client, n - 1);
    },
    count: (client) => counts.get(client) ?? 0,
  };
}

/** aedes lowers a delivery to the QoS of a subscription to exactly its topic, when there is one. */
function downgradedToQoS0(client: Client, topic: string): boolean {
  const subscriptions: unknown = Reflect.get(client, 'subscriptions');
  if (typeof subscriptions !== 'object' || subscriptions === null) return false;
  const exact: unknown = Reflect.get(subscriptions, topic);
  return typeof exact === 'object' && exact !== null && Reflect.get(exact, 'qos') === 0;
}
