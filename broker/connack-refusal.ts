import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';

/**
 * Refuses an MQTT 5 CONNECT with a reason code aedes 2.0.0-beta.1 cannot send from its authenticate
 * hook: it maps only the four 3.1.1 refusals (to 0x85, 0x86, 0x87, 0x88) and a redirect, so a busy
 * broker (0x89 server busy) or a throttled source (0x9F connection rate exceeded) would read as
 * "server unavailable". The CONNACK is written here, with a reason string (allowed on CONNACK whatever
 * Request Problem Information says [MQTT-3.1.2-29]), and the connection closed once it is
 * written [MQTT-3.2.2-7]; aedes then finds the client closed and does nothing more.
 */
export function refuseConnectV5(client: Client, reasonCode: number, reasonString: string, done: () => void): void {
  if (client.closed) return done();
  const connack = mqttPacket.generate({ cmd: 'connack', sessionPresent: false, reasonCode, properties: { reasonString } }, { protocolVersion: 5 });
  client.conn.write(connack, () => client.close(done));
}
