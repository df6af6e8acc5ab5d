import type { ProtocolVersion } from './codes.ts';
import type { Decoded, Suback } from './packets.ts';
import { readProperties, type Properties } from './properties.ts';

/**
 * SUBACK (3.1.1 §3.9, v5 §3.9): the packet identifier of the SUBSCRIBE, v5 properties, then one
 * code per topic filter in the SUBSCRIBE's order [MQTT-3.9.3-1]. 3.1.1 codes: 0x00-0x02 granted
 * QoS, 0x80 failure [MQTT-3.9.3-2]; v5: the same grants, and reason codes of 0x80 or more
 * (0x87 not authorized, 0x9E shared subscriptions not supported, …).
 */
export function decodeSuback(bytes: Buffer, start: number, end: number, version: ProtocolVersion): Decoded<Suback> {
  if (end - start < 3) return 'malformed SUBACK';
  const messageId = bytes.readUInt16BE(start);
  let at = start + 2;
  let properties: Properties | undefined;
  if (version === 5) {
    const read = readProperties(bytes, at, end);
    if (typeof read === 'string') return read;
    properties = read.properties;
    at = read.next;
    if (at >= end) return 'SUBACK without reason codes';
  }
  return { cmd: 'suback', messageId, granted: [...bytes.subarray(at, end)], properties };
}
