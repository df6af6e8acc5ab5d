import type { Aedes, Client } from 'aedes';

/**
 * A login whose connection closed while it was being set up is not registered. aedes 2.0.0-beta.1
 * checks for a closed client only when authentication answers; the steps after it (fetching and
 * restoring subscriptions, storing the will) are asynchronous, and a client that goes in between
 * (a device that timed out waiting for its CONNACK, the usual case in a reconnect storm) is
 * registered anyway after its close: `connectedClients` is incremented and never decremented, and
 * the dead client stays in `clients` under its id. Each such race leaked one connection for good;
 * after a storm of timed-out logins the broker's connection count sat hundreds above the truth, and
 * our max-connections check, which reads it, refused that many devices for as long as it ran.
 * With this guard the close has already cleaned up after the client, so skipping it leaves the
 * count and the map right.
 */
export function skipClosedLogins(broker: Aedes, onSkipped: (client: Client) => void): void {
  const register: unknown = Reflect.get(broker, 'registerClient');
  if (typeof register !== 'function') throw new Error('aedes has no registerClient to wrap');
  Reflect.set(broker, 'registerClient', (client: Client): void => {
    if (client.closed) return onSkipped(client);
    Reflect.apply(register, broker, [client]);
  });
}
