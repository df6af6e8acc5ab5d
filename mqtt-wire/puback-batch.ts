import { PacketType } from './codes.ts';

/** PUBACK fixed header byte (type 4, flags 0) followed by Remaining Length 2: 3.1.1 §3.4.1, v5 §3.4.1. */
const PUBACK_SHORT = ((PacketType.PUBACK << 4) << 24) | (2 << 16);

/**
 * An acknowledgement waiting to be written: the packet identifier, and in v5 a PUBACK reason code
 * (v5 §3.4.2.1), packed into one number so a batch is a plain number array.
 */
export const packAck = (messageId: number, reasonCode = 0): number => messageId + reasonCode * 0x10000;

/**
 * Encodes many PUBACKs into one buffer, for one socket write. A success without properties is the
 * four-byte form in both versions (3.1.1 §3.4; v5 may leave out reason code 0x00 and the property
 * length, Remaining Length 2 [MQTT-3.4.2-1], §3.4.2.1); another v5 reason code takes five bytes
 * (Remaining Length 3, no property length, v5 §3.4.2.2.1). 3.1.1 has no reason codes: callers pack 0.
 */
export function encodePubacks(acks: readonly number[]): Buffer {
  let size = 0;
  for (const ack of acks) size += ack > 0xffff ? 5 : 4;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const ack of acks) {
    const messageId = ack & 0xffff;
    if (ack <= 0xffff) {
      out.writeUInt32BE((PUBACK_SHORT | messageId) >>> 0, at);
      at += 4;
    } else {
      out[at] = PacketType.PUBACK << 4;
      out[at + 1] = 3;
      out.writeUInt16BE(messageId, at + 2);
      out[at + 4] = Math.floor(ack / 0x10000);
      at += 5;
    }
  }
  return out;
}
