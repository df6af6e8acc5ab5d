import type { ProtocolVersion } from './codes.ts';
import type { Decoded, Disconnect } from './packets.ts';
import { readProperties } from './properties.ts';

/**
 * DISCONNECT from the server, which only MQTT 5.0 has (v5 §3.14; in 3.1.1 only a client sends one,
 * §3.14). Remaining Length 0 means reason 0x00 Normal disconnection, and one of less than 2 means no
 * properties (v5 §3.14.2.1, §3.14.2.2.1). The properties may carry a reason string and a server
 * reference (0x9C use another server, 0x9D server moved; v5 §4.11).
 */
export function decodeDisconnect(bytes: Buffer, start: number, end: number, version: ProtocolVersion): Decoded<Disconnect | null> {
  if (version === 4) return null;
  const length = end - start;
  if (length === 0) return { cmd: 'disconnect', reasonCode: 0, properties: undefined };
  const reasonCode = bytes[start]!;
  if (length === 1) return { cmd: 'disconnect', reasonCode, properties: undefined };
  const read = readProperties(bytes, start + 1, end);
  if (typeof read === 'string') return read;
  if (read.next !== end) return 'DISCONNECT longer than its properties';
  return { cmd: 'disconnect', reasonCode, properties: read.properties };
}
