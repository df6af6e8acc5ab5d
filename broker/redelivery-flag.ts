import { Readable } from 'node:stream';

/**
 * aedes 1.2 re-sends a resumed persistent session's unacknowledged QoS 1/2 messages with their
 * original packet identifiers [MQTT-4.4.0-1] but with DUP=0, where [MQTT-3.3.1-1] requires DUP=1.
 * In the session store (memory or Redis) a queued message gets its packet identifier when it is
 * first sent, so one that already has an identifier is a re-delivery. This wraps the store's
 * outgoingStream, which aedes reads only to re-send a session's queue on resume, to set DUP on those.
 *
 * aedes asks for that stream at every login, so its cost is a login's cost. With `snapshot` (the
 * memory store's indexed queues, broker/outgoing-index.ts) the queue is read as an array and handed
 * over as one stream; otherwise (Redis) the store's own stream is wrapped. The layered streams (the
 * store's, aedes-persistence's wrapper around it, and an async generator around that) cost about
 * 100 µs of a login in a reconnect storm, each for an empty queue.
 */
export function flagRedeliveries(persistence: unknown, snapshot: ((clientId: string) => readonly unknown[]) | null = null): void {
  if (typeof persistence !== 'object' || persistence === null) throw new Error('aedes has no persistence to wrap');
  const outgoingStream: unknown = Reflect.get(persistence, 'outgoingStream');
  if (typeof outgoingStream !== 'function') throw new Error('aedes persistence has no outgoingStream');
  if (snapshot !== null) {
    Reflect.set(persistence, 'outgoingStream', (client: { id: string }) => Readable.from(snapshot(client.id).map(withDupFlag)));
    return;
  }
  const read = (client: unknown): AsyncIterable<unknown> | Iterable<unknown> => Reflect.apply(outgoingStream, persistence, [client]);
  Reflect.set(persistence, 'outgoingStream', (client: unknown) => Readable.from(withDup(read(client))));
}

function withDupFlag(packet: unknown): unknown {
  // Not yet sent is `undefined` in memory and `null` after Redis' msgpack round trip.
  if (typeof packet === 'object' && packet !== null && typeof Reflect.get(packet, 'messageId') === 'number') Reflect.set(packet, 'dup', true);
  return packet;
}

async function* withDup(queued: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<unknown> {
  for await (const packet of queued) yield withDupFlag(packet);
}
