import { PublishFlag, type ProtocolVersion } from './codes.ts';
import type { Decoded, IncomingPublish } from './packets.ts';
import { readProperties, type Properties } from './properties.ts';

/**
 * PUBLISH, the packet nearly every byte ingest reads belongs to, decoded in a few reads (mqtt-packet's
 * general parser costs ~3 µs a packet, a measurable share of ingest's CPU per event). The payload is
 * a view into `bytes`. 3.1.1 §3.3, v5 §3.3: topic name, packet identifier when QoS > 0, v5
 * properties, payload.
 */
export function decodePublish(
  bytes: Buffer,
  flags: number,
  start: number,
  end: number,
  version: ProtocolVersion,
  connection: number,
): Decoded<IncomingPublish> {
  const qosBits = (flags & PublishFlag.QOS_MASK) >> PublishFlag.QOS_SHIFT;
  // [MQTT-3.3.1-4]: both QoS bits set is no QoS at all.
  if (qosBits === 3) return 'PUBLISH with QoS 3';
  const qos = qosBits === 0 ? 0 : qosBits === 1 ? 1 : 2;
  if (start + 2 > end) return 'PUBLISH shorter than its topic length';
  const topicEnd = start + 2 + bytes.readUInt16BE(start);
  let at = qos > 0 ? topicEnd + 2 : topicEnd;
  if (at > end) return 'PUBLISH shorter than its topic and packet id';
  const messageId = qos > 0 ? bytes.readUInt16BE(topicEnd) : 0;
  // [MQTT-2.3.1-1] (v5 [MQTT-2.2.1-3]): a packet identifier is never 0.
  if (qos > 0 && messageId === 0) return 'PUBLISH with packet id 0';
  let properties: Properties | undefined;
  if (version === 5) {
    // One byte 0 (no properties) is the common case: no call, no object.
    if (at < end && bytes[at] === 0) at++;
    else {
      const read = readProperties(bytes, at, end);
      if (typeof read === 'string') return read;
      properties = read.properties;
      at = read.next;
    }
  }
  return {
    topic: bytes.toString('utf8', start + 2, topicEnd),
    payload: bytes.subarray(at, end),
    qos,
    messageId,
    dup: (flags & PublishFlag.DUP) !== 0,
    retain: (flags & PublishFlag.RETAIN) !== 0,
    properties,
    connection,
  };
}
