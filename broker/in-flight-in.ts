import type { Client } from 'aedes';
import { disconnectClient } from './server-disconnect.ts';
import { ReasonCode } from '../mqtt-wire/codes.ts';

/**
 * Caps the QoS 2 publishes one client has sent and not yet released with PUBREL: their number
 * (`maxPackets`, what MQTT 5 calls the Receive Maximum we announce in CONNACK) and their bytes
 * (payload and topic, `maxBytes`), so one session cannot hold maxPackets packets of the largest size.
 *
 * aedes 1.2 capped the number itself (maxInflightInbound); aedes 2.0.0-beta.1 dropped that cap and
 * enforces no Receive Maximum [MQTT-3.3.4-7], so both are kept here. aedes has no hook for "a QoS 2
 * publish is being held", but every held packet passes through the session store:
 * incomingStorePacket when it is first received (once per packet identifier: a DUP retransmission
 * is found in the store and not stored again), incomingDelPacket on its PUBREL, cleanIncoming when
 * a session ends. Wrapping those three keeps the books. A store that would take a client over a cap
 * is refused with InFlightInExceeded: the packet is neither stored, published nor acknowledged, and
 * the client is cut off, an MQTT 5 client with DISCONNECT 0x93 (Receive Maximum exceeded,
 * §3.3.4) or 0x97 (quota exceeded, for bytes), a 3.1.1 client by closing the connection.
 *
 * aedes 2.0.0-beta.1 also lets a rejected incomingDelPacket escape as an unhandled rejection
 * (lib/handlers/pubrel.js: `.finally()`), which ends the process: two PUBRELs for one packet
 * identifier in one read make the second delete fail. aedes answers PUBCOMP either way, so a delete
 * of a packet that is already gone is taken as done here.
 *
 * Counted per client id, so a persistent session cannot reset its count by reconnecting; only
 * sessions holding something have an entry, and client ids are authenticated ones, so the map is
 * bounded by the fleet (and each entry by the 65,535 packet identifiers).
 */
export class InFlightInExceeded extends Error {
  override readonly name = 'InFlightInExceeded';
  constructor(
    readonly limit: 'packets' | 'bytes',
    readonly max: number,
  ) {
    super(
      limit === 'packets'
        ? `max_in_flight_in: more than ${max} QoS 2 publishes awaiting PUBREL`
        : `max_in_flight_in_bytes: QoS 2 publishes awaiting PUBREL would exceed ${max} bytes`,
    );
  }
}

interface Held {
  bytes: number;
  byMessageId: Map<number, number>;
}

type Method = (client: unknown, packet: unknown) => unknown;

export function capInFlightIn(persistence: unknown, limits: { maxPackets: number; maxBytes: number }): { heldBytes(clientId: string): number } {
  if (typeof persistence !== 'object' || persistence === null) throw new Error('aedes has no persistence to wrap');
  const original = (name: string): Method => {
    const method: unknown = Reflect.get(persistence, name);
    if (typeof method !== 'function') throw new Error(`aedes persistence has no ${name}`);
    return (client, packet) => Reflect.apply(method, persistence, [client, packet]);
  };
  const store = original('incomingStorePacket');
  const del = original('incomingDelPacket');
  const cleanMethod: unknown = Reflect.get(persistence, 'cleanIncoming');
  const held = new Map<string, Held>();

  const release = (clientId: string, messageId: number): void => {
    const entry = held.get(clientId);
    const bytes = entry?.byMessageId.get(messageId);
    if (!entry || bytes === undefined) return;
    entry.byMessageId.delete(messageId);
    entry.bytes -= bytes;
    if (entry.byMessageId.size === 0) held.delete(clientId);
  };

  const refuse = async (client: unknown, error: InFlightInExceeded): Promise<never> => {
    if (isClient(client) && client.version === 5) {
      const code = error.limit === 'packets' ? ReasonCode.RECEIVE_MAXIMUM_EXCEEDED : ReasonCode.QUOTA_EXCEEDED;
      await new Promise<void>((resolve) => disconnectClient(client, code, error.limit === 'packets' ? 'max_in_flight_in' : 'max_in_flight_in_bytes', resolve));
    }
    throw error;
  };

  Reflect.set(persistence, 'incomingStorePacket', async (client: unknown, packet: unknown): Promise<unknown> => {
    const clientId = idOf(client);
    const messageId = messageIdOf(packet);
    if (clientId === null || messageId === null) return store(client, packet);
    release(clientId, messageId);
    const bytes = sizeOf(packet);
    const entry = held.get(clientId) ?? { bytes: 0, byMessageId: new Map<number, number>() };
    // Checked and reserved synchronously: aedes handles every packet of one read concurrently.
    if (entry.byMessageId.size >= limits.maxPackets) return refuse(client, new InFlightInExceeded('packets', limits.maxPackets));
    if (entry.bytes + bytes > limits.maxBytes) return refuse(client, new InFlightInExceeded('bytes', limits.maxBytes));
    entry.bytes += bytes;
    entry.byMessageId.set(messageId, bytes);
    held.set(clientId, entry);
    try {
      return await store(client, packet);
    } catch (error) {
      release(clientId, messageId);
      throw error;
    }
  });

  Reflect.set(persistence, 'incomingDelPacket', async (client: unknown, packet: unknown): Promise<unknown> => {
    const result = await Promise.resolve(del(client, packet)).catch(() => undefined);
    const clientId = idOf(client);
    const messageId = messageIdOf(packet);
    if (clientId !== null && messageId !== null) release(clientId, messageId);
    return result;
  });

  if (typeof cleanMethod === 'function') {
    Reflect.set(persistence, 'cleanIncoming', async (client: unknown): Promise<unknown> => {
      const result: unknown = await Reflect.apply(cleanMethod, persistence, [client]);
      const clientId = idOf(client);
      if (clientId !== null) held.delete(clientId);
      return result;
    });
  }

  return { heldBytes: (clientId) => held.get(clientId)?.bytes ?? 0 };
}

/** aedes hands the store its Client object; a persistence used on its own gets plain { id } records. */
function isClient(client: unknown): client is Client {
  return typeof client === 'object' && client !== null && typeof Reflect.get(client, 'disconnect') === 'function';
}

function idOf(client: unknown): string | null {
  const id: unknown = typeof client === 'object' && client !== null ? Reflect.get(client, 'id') : undefined;
  return typeof id === 'string' ? id : null;
}

function messageIdOf(packet: unknown): number | null {
  const id: unknown = typeof packet === 'object' && packet !== null ? Reflect.get(packet, 'messageId') : undefined;
  return typeof id === 'number' ? id : null;
}

function sizeOf(packet: unknown): number {
  if (typeof packet !== 'object' || packet === null) return 0;
  const payload: unknown = Reflect.get(packet, 'payload');
  const topic: unknown = Reflect.get(packet, 'topic');
  const payloadBytes = Buffer.isBuffer(payload) ? payload.length : typeof payload === 'string' ? Buffer.byteLength(payload) : 0;
  return payloadBytes + (typeof topic === 'string' ? Buffer.byteLength(topic) : 0);
}
