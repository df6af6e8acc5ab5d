/**
 * Caps the bytes (payload and topic) of the QoS 2 publishes one client has sent and not yet released
 * with PUBREL. aedes' maxInflightInbound caps their number only, so without this one session could
 * hold maxInflightInbound packets of the largest size each.
 *
 * aedes 1.2 has no hook for "a QoS 2 publish is being held", but every held packet passes through the
 * session store: incomingStorePacket when it is first received (after aedes' own count check, once
 * per packet identifier: a DUP retransmission is found in the store and not stored again),
 * incomingDelPacket on its PUBREL, cleanIncoming when a clean session ends. Wrapping those three
 * keeps the books. A store that would take a client over the cap is refused with
 * InFlightInBytesExceeded, which aedes treats like its own count limit: the connection is dropped
 * (MQTT 3.1.1 has no reason code to send) and the packet is neither stored, published nor acknowledged.
 *
 * Counted per client id, so a persistent session cannot reset its count by reconnecting; only
 * sessions holding something have an entry, and client ids are authenticated ones, so the map is
 * bounded by the fleet (and each entry by the 65,535 packet identifiers).
 */
export class InFlightInBytesExceeded extends Error {
  override readonly name = 'InFlightInBytesExceeded';
  constructor(readonly maxBytes: number) {
    super(`max_in_flight_in_bytes: QoS 2 publishes awaiting PUBREL would exceed ${maxBytes} bytes`);
  }
}

interface Held {
  bytes: number;
  byMessageId: Map<number, number>;
}

type Method = (client: unknown, packet: unknown) => unknown;

export function capInFlightInBytes(persistence: unknown, maxBytes: number): { heldBytes(clientId: string): number } {
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

  Reflect.set(persistence, 'incomingStorePacket', async (client: unknown, packet: unknown): Promise<unknown> => {
    const clientId = idOf(client);
    const messageId = messageIdOf(packet);
    if (clientId === null || messageId === null) return store(client, packet);
    release(clientId, messageId);
    const bytes = sizeOf(packet);
    const entry = held.get(clientId) ?? { bytes: 0, byMessageId: new Map<number, number>() };
    if (entry.bytes + bytes > maxBytes) throw new InFlightInBytesExceeded(maxBytes);
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
    const result = await del(client, packet);
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
