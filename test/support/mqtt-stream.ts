import { INCOMPLETE, MALFORMED, readFixedHeader, vbiLength, vbiValue } from '../../mqtt-wire/fixed-header.ts';

/** One MQTT control packet as it crossed the wire: its type (3.1.1 §2.2.1, v5 §2.1.2) and all its bytes. */
export interface WirePacket {
  type: number;
  bytes: Buffer;
}

/**
 * The MQTT packets one side of a connection sent (a TCP stream of a capture), whole, in order.
 * A stream that stops inside a packet (the capture ended first) ends with what was complete; one
 * that is not MQTT at all is an error, so a test never reads garbage as "no PUBLISH here".
 */
export function mqttPackets(stream: Buffer): WirePacket[] {
  const packets: WirePacket[] = [];
  for (let offset = 0; offset < stream.length; ) {
    const header = readFixedHeader(stream, offset, stream.length);
    if (header === INCOMPLETE) break;
    if (header === MALFORMED) throw new Error(`not an MQTT stream: malformed Remaining Length at byte ${offset}`);
    const end = offset + 1 + vbiLength(header) + vbiValue(header);
    if (end > stream.length) break;
    packets.push({ type: stream[offset]! >> 4, bytes: stream.subarray(offset, end) });
    offset = end;
  }
  return packets;
}
