import type { Aedes, Client } from 'aedes';
import { ReasonCode } from '../mqtt-wire/codes.ts';
import { disconnectClient } from './server-disconnect.ts';

/**
 * aedes 2.0.0-beta.1 ends a client silent for 1.5 x its keepalive [MQTT-3.1.2-22] by destroying the
 * socket, for MQTT 5 clients too. Here an MQTT 5 client's keepalive timer is replaced, once it is
 * connected, by one that sends DISCONNECT 0x8D (keep alive timeout) first. The interval and the
 * refresh on every packet (aedes calls `_keepaliveTimer.refresh()`) stay aedes' own; the will is
 * published as on any close without the client's DISCONNECT [MQTT-3.1.2-8].
 */
export function disconnectOnKeepaliveTimeout(broker: Aedes): void {
  broker.on('clientReady', (client: Client) => {
    if (client.version !== 5) return;
    const timer: unknown = Reflect.get(client, '_keepaliveTimer');
    const interval: unknown = Reflect.get(client, '_keepaliveInterval');
    if (timer === null || timer === undefined || typeof interval !== 'number' || interval <= 0) return;
    clearTimeout(timer as NodeJS.Timeout);
    // One callback for every client, the client as its argument: no closure per connection.
    Reflect.set(client, '_keepaliveTimer', setTimeout(keepaliveTimeout, interval, broker, client));
  });
}

function keepaliveTimeout(broker: Aedes, client: Client): void {
  broker.emit('keepaliveTimeout', client);
  disconnectClient(client, ReasonCode.KEEP_ALIVE_TIMEOUT, 'keep alive timeout');
}
