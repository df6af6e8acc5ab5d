import type { Aedes, Client } from 'aedes';

/**
 * GHSA-52qw-whmv-87c5, fixed in aedes 1.2 but not in 2.0.0-beta.1: aedes keys plain objects by
 * names that come from the wire (client ids, topic filters, broker ids), so an inherited name
 * ('constructor', '__proto__') reads back as present. A client id `constructor` makes the takeover
 * path call a method of Object.prototype and throw out of the broker; an UNSUBSCRIBE of
 * `constructor` removes every subscriber of that topic. Our topic policy refuses such names from
 * devices and services, but the permissive test mode does not, and the maps must be safe anyway:
 * they are replaced with objects without a prototype, the broker's once at start (before any client),
 * each client's when its connection is handed to aedes (before any packet).
 */
export function protectBrokerMaps(broker: Aedes): void {
  const clients: unknown = Reflect.get(broker, 'clients');
  if (typeof clients !== 'object' || clients === null || Object.keys(clients).length > 0)
    throw new Error('aedes has clients before its maps could be protected');
  Reflect.set(broker, 'clients', Object.create(null));
  Reflect.set(broker, 'brokers', Object.assign(Object.create(null), Reflect.get(broker, 'brokers')));
}

export function protectClientMaps(client: Client): void {
  Reflect.set(client, 'subscriptions', Object.create(null));
  guardSubscribeDedupe(client);
}

/**
 * aedes 2.0.0-beta.1 merges a SUBSCRIBE's duplicate filters through a plain object: a filter named
 * `__proto__` next to another one replaces that object's prototype, hands aedes a subscription that
 * is not one, and an MQTT 5 SUBSCRIBE then throws out of the packet handler, ending the process.
 * Such a SUBSCRIBE is taken for the malformed packet it effectively is: aedes closes the connection
 * (its answer to a packet type it does not know), before the packet reaches the merge.
 */
function guardSubscribeDedupe(client: Client): void {
  const parser: unknown = Reflect.get(client, '_parser');
  if (typeof parser !== 'object' || parser === null || typeof Reflect.get(parser, 'prependListener') !== 'function')
    throw new Error('aedes client has no packet parser');
  (parser as NodeJS.EventEmitter).prependListener('packet', refuseProtoSubscribe);
}

// One listener for every parser, so a connection costs no function of its own.
function refuseProtoSubscribe(packet: { cmd: string; subscriptions?: Array<{ topic: string }> }): void {
  const subscriptions = packet.cmd === 'subscribe' ? packet.subscriptions : undefined;
  if (subscriptions && subscriptions.length > 1 && subscriptions.some((s) => s.topic === '__proto__')) packet.cmd = 'refused-subscribe';
}
