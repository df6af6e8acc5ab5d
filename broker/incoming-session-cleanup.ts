import type { Aedes, Client } from 'aedes';

/**
 * [MQTT-3.1.2-6] The inbound QoS 2 table (packet identifiers whose PUBREL is awaited) is session
 * state: it must go when the session goes. aedes 1.2 wiped it (persistence.cleanIncoming);
 * aedes 2.0.0-beta.1 never does, so a client that starts a clean session and reuses the packet
 * identifier of a QoS 2 publish from its previous session gets PUBREC for a message that is then
 * taken for a duplicate and never delivered. Here the table is wiped wherever the session ends:
 * - a CONNECT with Clean Start (aedes calls cleanSubscriptions), and again once the client is
 *   registered ('client'), after a takeover closed the previous connection whose store calls may
 *   still have been under way;
 * - a v5 session that expires or ends with its connection (cleanSubscriptions again);
 * - a clean session's connection closing ('clientDisconnect'), unless a new connection is taking
 *   the session over: a client that never returns would otherwise leave its entries forever.
 * Needs a persistence with cleanIncoming (aedes-persistence 11, aedes-persistence-redis 12).
 */
export function cleanIncomingWithSession(broker: Aedes): void {
  const persistence: unknown = Reflect.get(broker, 'persistence');
  if (typeof persistence !== 'object' || persistence === null) throw new Error('aedes has no persistence to wrap');
  const cleanIncoming: unknown = Reflect.get(persistence, 'cleanIncoming');
  const cleanSubscriptions: unknown = Reflect.get(persistence, 'cleanSubscriptions');
  if (typeof cleanIncoming !== 'function' || typeof cleanSubscriptions !== 'function')
    throw new Error("the persistence cannot wipe a session's QoS 2 table (cleanIncoming)");
  const wipe = (client: unknown): Promise<unknown> => Promise.resolve(Reflect.apply(cleanIncoming, persistence, [client]));
  const report = (error: unknown): void => void broker.emit('error', error instanceof Error ? error : new Error(String(error)));

  Reflect.set(persistence, 'cleanSubscriptions', async (client: unknown): Promise<unknown> => {
    const [result] = await Promise.all([Reflect.apply(cleanSubscriptions, persistence, [client]) as unknown, wipe(client)]);
    return result;
  });
  broker.on('client', (client) => {
    if (Reflect.get(client, '_cleanStart') === true) wipe(client).catch(report);
  });
  broker.on('clientDisconnect', (client: Client) => {
    if (client.clean && !takingOver(broker, client.id)) wipe(client).catch(report);
  });
}

/** aedes marks a client id while a new connection takes its session over (MQTT 5 session expiry). */
function takingOver(broker: Aedes, clientId: string): boolean {
  const ids: unknown = Reflect.get(broker, '_takingOver');
  return ids instanceof Set && ids.has(clientId);
}
