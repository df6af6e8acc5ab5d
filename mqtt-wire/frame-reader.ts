import { PacketType, RESERVED_FLAGS, type ProtocolVersion } from './codes.ts';
import { decodeConnack } from './decode-connack.ts';
import { decodeDisconnect } from './decode-disconnect.ts';
import { decodePingresp } from './decode-pingresp.ts';
import { decodePuback } from './decode-puback.ts';
import { decodePublish } from './decode-publish.ts';
import { decodeSuback } from './decode-suback.ts';
import { INCOMPLETE, MALFORMED, readFixedHeader, vbiLength, vbiValue } from './fixed-header.ts';
import type { ControlPacket, Decoded, IncomingPublish } from './packets.ts';

export interface FrameSink {
  onPublish(packet: IncomingPublish): void;
  /** Every other packet, decoded; `unexpected` for a type a server never sends a client. */
  onControl(packet: ControlPacket): void;
  /** The bytes are not MQTT; the reader ignores all further input and the connection must go. */
  onMalformed(reason: string): void;
}

/** The protocol's own ceiling: a one-byte header, four length bytes and the largest remaining length. */
const PROTOCOL_MAX_PACKET = 1 + 4 + 268_435_455;
/** A remainder this small is copied, so the (often 64 KiB) chunk it came in can be released. */
const COPY_REMAINDER_BELOW = 1_024;

/**
 * Splits the bytes a server sends into MQTT packets (3.1.1 or 5, as the connection was opened) and
 * decodes each. One per connection, and small: it holds a partial packet's chunks and little else,
 * so ten thousand of them in one process cost next to nothing (mqtt-packet's parser holds an event
 * emitter, a buffer list and a packet object per stream).
 *
 * A partial packet's chunks are kept apart until they add up to it: joining them on every chunk would
 * copy a large packet that arrives in small pieces over and over.
 */
export class FrameReader {
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  /** Bytes the packet at the head of `pending` needs in all, once its header is known. */
  private needed = 0;
  private broken = false;

  constructor(
    private readonly sink: FrameSink,
    readonly version: ProtocolVersion,
    /** Stamped on every PUBLISH: which connection it came in on (see IncomingPublish.connection). */
    readonly connection = 0,
    /** Larger packets break the stream (v5: the limit the client announced in CONNECT, [MQTT-3.1.2-24]). */
    private readonly maxPacketBytes = PROTOCOL_MAX_PACKET,
  ) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    let buffer = chunk;
    if (this.pending !== null) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.needed) return;
      buffer = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = null;
      this.pendingBytes = 0;
      this.needed = 0;
    }
    const end = buffer.length;
    let offset = 0;
    while (offset < end) {
      const packed = readFixedHeader(buffer, offset, end);
      if (packed === MALFORMED) return this.fail('remaining length longer than four bytes');
      if (packed === INCOMPLETE) break;
      const bodyStart = offset + 1 + vbiLength(packed);
      const packetEnd = bodyStart + vbiValue(packed);
      if (packetEnd - offset > this.maxPacketBytes) return this.fail('packet too large');
      if (packetEnd > end) {
        this.needed = packetEnd - offset;
        break;
      }
      this.dispatch(buffer, buffer[offset]!, bodyStart, packetEnd);
      if (this.broken) return;
      offset = packetEnd;
    }
    if (offset < end) {
      const rest = end - offset;
      this.pending = [offset === 0 ? buffer : rest < COPY_REMAINDER_BELOW ? Buffer.from(buffer.subarray(offset)) : buffer.subarray(offset)];
      this.pendingBytes = rest;
    }
  }

  private dispatch(bytes: Buffer, header: number, start: number, end: number): void {
    const type = header >> 4;
    const flags = header & 0x0f;
    if (type === PacketType.PUBLISH) {
      const publish = decodePublish(bytes, flags, start, end, this.version, this.connection);
      if (typeof publish === 'string') this.fail(publish);
      else this.sink.onPublish(publish);
      return;
    }
    const reserved = RESERVED_FLAGS[type];
    // [MQTT-2.2.2-2] (v5 [MQTT-2.1.3-1]: a Malformed Packet).
    if (reserved !== undefined && flags !== reserved) return this.fail(`packet type ${type} with flags ${flags}`);
    let decoded: Decoded<ControlPacket | null>;
    switch (type) {
      case PacketType.PUBACK:
      case PacketType.PUBREL:
        decoded = decodePuback(bytes, type, start, end, this.version);
        break;
      case PacketType.CONNACK:
        decoded = decodeConnack(bytes, start, end, this.version);
        break;
      case PacketType.SUBACK:
        decoded = decodeSuback(bytes, start, end, this.version);
        break;
      case PacketType.PINGRESP:
        decoded = decodePingresp(start, end);
        break;
      case PacketType.DISCONNECT:
        decoded = decodeDisconnect(bytes, start, end, this.version);
        break;
      default:
        decoded = null;
    }
    if (typeof decoded === 'string') this.fail(decoded);
    else this.sink.onControl(decoded ?? { cmd: 'unexpected', type });
  }

  private fail(reason: string): void {
    this.broken = true;
    this.pending = null;
    this.sink.onMalformed(reason);
  }
}
