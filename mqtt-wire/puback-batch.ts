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

/**
 * The acknowledgements due on one connection, written together at the end of the turn: one socket
 * write for every message acknowledged in it. Those due on an older connection are never written
 * (after a reconnect the broker sends those messages again, maybe under ids that name others now).
 */
export class DueAcks {
  private acks: number[] | null = null;
  private on = 0;

  /** True for the first of a turn: the owner then schedules the write (take) for the turn's end. */
  add(connection: number, messageId: number, reasonCode: number): boolean {
    const first = this.acks === null;
    if (this.acks === null) {
      this.acks = [];
      this.on = connection;
    }
    this.acks.push(packAck(messageId, reasonCode));
    return first;
  }

  /** The PUBACKs due, encoded, when they belong to `connection`; null otherwise. Empties the batch. */
  take(connection: number): Buffer | null {
    const acks = this.acks;
    this.acks = null;
    return acks === null || this.on !== connection ? null : encodePubacks(acks);
  }

  clear(): void {
    this.acks = null;
  }
}
