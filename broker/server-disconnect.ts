import type { Client } from 'aedes';

/**
 * Ends a connection from the broker's side. An MQTT 5 client is told why first: a DISCONNECT with
 * the reason code and a short reason string (the limit's name, never a payload), then the socket
 * closes once that packet is written [MQTT-3.14.2-1] [MQTT-3.14.4-1]. MQTT 3.1.1 has no DISCONNECT
 * from the server, so a 3.1.1 client's connection is just closed. Nothing more is read from the
 * client meanwhile. Either way an unsent will is published, as for any close without the client's
 * own DISCONNECT [MQTT-3.1.2-8].
 */
export function disconnectClient(client: Client, reasonCode: number, reasonString: string, done: () => void = () => undefined): void {
  const pause: unknown = Reflect.get(client, 'pause');
  if (typeof pause === 'function') Reflect.apply(pause, client, []);
  if (client.version === 5) client.disconnect({ reasonCode, properties: { reasonString } }, done);
  else client.close(done);
}
