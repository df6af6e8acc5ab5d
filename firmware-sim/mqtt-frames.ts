/**
 * The packets an MQTT 3.1.1 device receives, decoded from a byte stream: CONNACK, PUBACK, SUBACK,
 * PUBLISH, PUBREL, PINGRESP. A device needs no more, and a frame reader that holds one pending
 * buffer costs far less per connection than a general parser (mqtt-packet's holds an event emitter,
 * a buffer list and a packet object per stream; outgoing packets still come from mqtt-packet).
 */
export type IncomingPacket =
  | { cmd: 'connack'; sessionPresent: boolean; returnCode: number }
  | { cmd: 'puback' | 'pubrel'; messageId: number }
  | { cmd: 'suback'; messageId: number; granted: number[] }
  | { cmd: 'publish'; topic: string; payload: Buffer; qos: number; messageId: number }
  | { cmd: 'pingresp' }
  /** A packet type a client never gets from a broker; the caller drops the connection. */
  | { cmd: 'unexpected'; type: number };

/** The broker's side is capped (256 KiB at ours); beyond a few MiB the stream is garbage. */
const MAX_PACKET_BYTES = 4 * 1024 * 1024;

export class FrameReader {
  private pending: Buffer | null = null;

  /** Feeds one chunk; calls `onPacket` for every whole packet. Returns an error message for a broken stream. */
  push(chunk: Buffer, onPacket: (packet: IncomingPacket) => void): string | null {
    let data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    while (data.length >= 2) {
      let length = 0;
      let multiplier = 1;
      let offset = 1;
      for (;;) {
        if (offset >= data.length) {
          this.pending = data;
          return null;
        }
        const byte = data[offset++]!;
        length += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) break;
        multiplier *= 128;
        if (offset > 4) return 'malformed remaining length';
      }
      if (length > MAX_PACKET_BYTES) return 'packet too large';
      if (data.length < offset + length) break;
      const error = decode(data[0]!, data.subarray(offset, offset + length), onPacket);
      if (error !== null) return error;
      data = data.subarray(offset + length);
    }
    if (data.length > 0) this.pending = Buffer.from(data);
    return null;
  }
}

function decode(header: number, body: Buffer, onPacket: (packet: IncomingPacket) => void): string | null {
  const type = header >> 4;
  switch (type) {
    case 2:
      if (body.length !== 2) return 'malformed CONNACK';
      onPacket({ cmd: 'connack', sessionPresent: (body[0]! & 1) === 1, returnCode: body[1]! });
      return null;
    case 3: {
      const qos = (header >> 1) & 3;
      if (body.length < 2) return 'malformed PUBLISH';
      const topicLength = body.readUInt16BE(0);
      let at = 2 + topicLength;
      if (body.length < at + (qos > 0 ? 2 : 0)) return 'malformed PUBLISH';
      const topic = body.toString('utf8', 2, at);
      const messageId = qos > 0 ? body.readUInt16BE(at) : 0;
      if (qos > 0) at += 2;
      // Copied: the chunk it came in may be large and is otherwise released at once.
      onPacket({ cmd: 'publish', topic, payload: Buffer.from(body.subarray(at)), qos, messageId });
      return null;
    }
    case 4:
    case 6:
      if (body.length !== 2) return 'malformed acknowledgement';
      onPacket({ cmd: type === 4 ? 'puback' : 'pubrel', messageId: body.readUInt16BE(0) });
      return null;
    case 9:
      if (body.length < 3) return 'malformed SUBACK';
      onPacket({ cmd: 'suback', messageId: body.readUInt16BE(0), granted: [...body.subarray(2)] });
      return null;
    case 13:
      onPacket({ cmd: 'pingresp' });
      return null;
    default:
      onPacket({ cmd: 'unexpected', type });
      return null;
  }
}
