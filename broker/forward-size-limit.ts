import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';

/**
 * [MQTT-3.1.2-24] The Server MUST NOT send a packet larger than the Maximum Packet Size the client
 * announced in its CONNECT; [MQTT-3.1.2-25] such a message is discarded, as if it had been sent.
 * aedes 2.0.0-beta.1 stores that size but sends regardless. Here a delivery that would not fit is
 * refused in authorizeForward, before any other hook counts it: aedes then skips it and, for a
 * persistent session, clears it from the session's queue (for the client it was delivered).
 * Sizes are counted exactly with mqtt-packet when the payload and topic alone come near the limit
 * or properties travel with the message; a small message costs two additions.
 */
export function limitForwardsToClientMaximum(broker: Aedes, onDiscard: (client: Client, packet: AedesPublishPacket) => void = () => undefined): void {
  const authorize = broker.authorizeForward;
  broker.authorizeForward = (client, packet) => {
    const maximum = client.version === 5 ? client.maximumPacketSize : undefined;
    if (maximum !== undefined && !fits(packet, maximum)) {
      onDiscard(client, packet);
      return null;
    }
    return authorize(client, packet);
  };
}

// Fixed header (1 + up to 4), topic length (2), packet identifier (2), property length (1).
const FRAMING_BYTES = 10;

function fits(packet: AedesPublishPacket, maximum: number): boolean {
  const bare = packet.payload.length + Buffer.byteLength(packet.topic) + FRAMING_BYTES;
  if (packet.properties === undefined && bare <= maximum) return true;
  if (bare - FRAMING_BYTES > maximum) return false;
  const sized = {
    cmd: 'publish' as const,
    topic: packet.topic,
    payload: packet.payload,
    qos: packet.qos,
    retain: packet.retain,
    dup: packet.dup,
    messageId: packet.qos > 0 ? 1 : undefined,
    properties: packet.properties,
  };
  return mqttPacket.generate(sized, { protocolVersion: 5 }).length <= maximum;
}
