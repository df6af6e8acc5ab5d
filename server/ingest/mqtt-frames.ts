import mqttPacket, { type Packet } from 'mqtt-packet';

/** A PUBLISH as ingest needs it (MQTT 3.1.1): the payload is a view into the received bytes, not a copy. */
export interface IncomingPublish {
  topic: string;
  qos: 0 | 1 | 2;
  /** Present for QoS 1 and 2. */
  messageId: number | undefined;
  payload: Buffer;
}

export interface FrameHandlers {
  publish(packet: IncomingPublish): void;
  /** Every other packet type, decoded by mqtt-packet. */
  other(packet: Packet): void;
  /** The broker sent bytes that are not MQTT 3.1.1; the connection must be dropped. */
  malformed(reason: string): void;
}

const PUBLISH = 3;
const MAX_LENGTH_BYTES = 4;

/**
 * Splits the bytes from the broker into MQTT packets. PUBLISH, nearly every packet ingest receives, is
 * decoded here in a few reads (mqtt-packet's general parser costs ~3 µs per packet, a measurable share
 * of ingest's CPU per event); the rare others go to mqtt-packet whole. Returns the function to feed
 * each chunk to; after `malformed` it ignores further input.
 */
export function createFrameReader(handlers: FrameHandlers): (chunk: Buffer) => void {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (packet: Packet) => handlers.other(packet));
  let broken = false;
  parser.on('error', (err: Error) => fail(err.message));
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes the packet at the head of `pending` needs in all, once its header is known. */
  let needed = 0;

  function fail(reason: string): void {
    if (broken) return;
    broken = true;
    pending = [];
    handlers.malformed(reason);
  }

  function publish(frame: Buffer, header: number, bodyStart: number): void {
    const qos = (header >> 1) & 3;
    if (qos === 3) return fail('PUBLISH with QoS 3');
    if (frame.length < bodyStart + 2) return fail('PUBLISH shorter than its topic length');
    const topicEnd = bodyStart + 2 + frame.readUInt16BE(bodyStart);
    const payloadStart = qos > 0 ? topicEnd + 2 : topicEnd;
    if (payloadStart > frame.length) return fail('PUBLISH shorter than its topic and packet id');
    handlers.publish({
      topic: frame.toString('utf8', bodyStart + 2, topicEnd),
      qos: qos === 0 ? 0 : qos === 1 ? 1 : 2,
      messageId: qos > 0 ? frame.readUInt16BE(topicEnd) : undefined,
      payload: frame.subarray(payloadStart),
    });
  }

  return (chunk) => {
    if (broken) return;
    // A partial packet's chunks are kept apart until they add up to it: joining them on every chunk
    // would copy a large packet that arrives in small pieces over and over.
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < needed) return;
    const buffer = pending.length === 1 ? chunk : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    needed = 0;
    let offset = 0;
    while (!broken && offset < buffer.length) {
      // Fixed header: type and flags, then the remaining length in 1-4 bytes of 7 bits each.
      let length = 0;
      let lengthBytes = 0;
      let complete = false;
      while (offset + 1 + lengthBytes < buffer.length) {
        const byte = buffer[offset + 1 + lengthBytes]!;
        length += (byte & 0x7f) * 128 ** lengthBytes;
        lengthBytes++;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        if (lengthBytes === MAX_LENGTH_BYTES) return fail('remaining length longer than four bytes');
      }
      const bodyStart = offset + 1 + lengthBytes;
      if (!complete || bodyStart + length > buffer.length) {
        if (complete) needed = bodyStart + length - offset;
        break;
      }
      const header = buffer[offset]!;
      const frame = buffer.subarray(offset, bodyStart + length);
      if (header >> 4 === PUBLISH) publish(frame, header, bodyStart - offset);
      else parser.parse(frame);
      offset = bodyStart + length;
    }
    if (!broken && offset < buffer.length) {
      pending = [buffer.subarray(offset)];
      pendingBytes = buffer.length - offset;
    }
  };
}
