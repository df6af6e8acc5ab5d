import { PacketType, type ProtocolVersion } from './codes.ts';
import type { Acknowledgement, Decoded } from './packets.ts';
import { readProperties } from './properties.ts';

/**
 * PUBACK (3.1.1 §3.4, v5 §3.4), and PUBREL, which has the same layout (§3.6). 3.1.1: the packet
 * identifier only, Remaining Length 2. v5: a reason code and properties may follow; a Remaining
 * Length of 2 means reason 0x00 and no properties [MQTT-3.4.2-1] (v5 §3.4.2.1), one of less than 4
 * means no properties (v5 §3.4.2.2.1).
 */
export function decodePuback(bytes: Buffer, type: number, start: number, end: number, version: ProtocolVersion): Decoded<Acknowledgement> {
  const cmd = type === PacketType.PUBREL ? 'pubrel' : 'puback';
  const length = end - start;
  if (length < 2 || (version === 4 && length !== 2)) return `malformed ${cmd.toUpperCase()}`;
  const messageId = bytes.readUInt16BE(start);
  if (length === 2) return { cmd, messageId, reasonCode: 0, properties: undefined };
  const reasonCode = bytes[start + 2]!;
  if (length === 3) return { cmd, messageId, reasonCode, properties: undefined };
  const read = readProperties(bytes, start + 3, end);
  if (typeof read === 'string') return read;
  if (read.next !== end) return `${cmd.toUpperCase()} longer than its properties`;
  return { cmd, messageId, reasonCode, properties: read.properties };
}
