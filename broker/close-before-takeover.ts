import type { Aedes, Client } from 'aedes';

/** A close that never reaches its end must not hold the new login for ever. */
const LONGEST_WAIT_MS = 5_000;

/**
 * A login that takes over a session whose old connection is still closing waits for that close to
 * end. [MQTT-3.1.4-2] closes the existing connection before the new one takes over; aedes
 * 2.0.0-beta.1 does it by calling the old client's close and registering the new one when it
 * answers, but a client already closing (its socket went, and its close waits on the store to drop
 * its subscriptions) answers at once. The old close then ends after the takeover: a 3.1.1 will goes
 * out after the new connection's first messages (a machine back from a blip reads offline while
 * online), a v5 will is scheduled for a session that is online again [MQTT-3.1.3-9], and the old
 * client's unregistering removes the new client from the broker's clients under their shared id
 * (still connected, but uncounted and out of reach of the next takeover).
 *
 * Two places wait, because CONNACK follows registration in the same turn: after authentication
 * (so CONNACK, and with it the device's first message, comes after the old will), and at
 * registration, for a close that began while the login restored its session.
 */
export function closeBeforeTakeover(broker: Aedes): void {
  // Read at each login: protectBrokerMaps replaces the map after the broker is made.
  const registered = (id: string): Client | undefined => (Reflect.get(broker, 'clients') as Record<string, Client | undefined>)[id];
  const waiting = new Map<Client, Array<() => void>>();
  broker.on('clientDisconnect', (client) => {
    const resume = waiting.get(client);
    if (resume === undefined) return;
    waiting.delete(client);
    for (const next of resume) next();
  });
  /** Runs `next` once the client registered under `id` has finished closing; at once if none is closing. */
  const afterClosing = (id: string, next: () => void): void => {
    const closing = registered(id);
    if (closing === undefined || !closing.closed) return next();
    let done = false;
    const once = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      next();
    };
    const timer = setTimeout(once, LONGEST_WAIT_MS);
    timer.unref();
    waiting.set(closing, [...(waiting.get(closing) ?? []), once]);
  };

  const authenticate = broker.authenticate;
  broker.authenticate = (client, username, password, done) =>
    Reflect.apply(authenticate, broker, [
      client,
      username,
      password,
      (error: Parameters<typeof done>[0], success: boolean | null | undefined) => {
        if (error || !success || !client.id) return done(error, success ?? false);
        afterClosing(client.id, () => done(null, success));
      },
    ]);

  const register: unknown = Reflect.get(broker, 'registerClient');
  if (typeof register !== 'function') throw new Error('aedes has no registerClient to wrap');
  const registerAfterClose = (client: Client): void => {
    const closing = registered(client.id);
    if (closing === undefined || closing === client || !closing.closed) return void Reflect.apply(register, broker, [client]);
    // Once: after the wait, aedes' own takeover closes whatever holds the id by then.
    afterClosing(client.id, () => Reflect.apply(register, broker, [client]));
  };
  Reflect.set(broker, 'registerClient', registerAfterClose);
}
