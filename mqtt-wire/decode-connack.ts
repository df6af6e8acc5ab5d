import type { ProtocolVersion } from './codes.ts';
import type { Connack, Decoded } from './packets.ts';
import { readProperties } from './properties.ts';

/**
 * CONNACK (3.1.1 §3.2, v5 §3.2): the acknowledge flags (bits 7-1 reserved, 0 [MQTT-3.2.2-1]; bit 0
 * session present), the return code (3.1.1) or reason code (v5), and in v5 the properties: server
 * limits, assigned client identifier, server keep alive, server reference.
 */
export function decodeConnack(bytes: Buffer, start: number, end: number, version: ProtocolVersion): Decoded<Connack> {
  const length = end - start;
  if (version === 4 ? length !== 2 : length < 3) return 'malformed CONNACK';
  const flags = bytes[start]!;
  if ((flags & 0xfe) !== 0) return 'CONNACK with reserved flags set';
  const sessionPresent = (flags & 1) === 1;
  const reasonCode = bytes[start + 1]!;
  if (version === 4) return { cmd: 'connack', sessionPresent, reasonCode, properties: undefined };
  const read = readProperties(bytes, start + 2, end);
  if (typeof read === 'string') return read;
  if (read.next !== end) return 'CONNACK longer than its properties';
  return { cmd: 'connack', sessionPresent, reasonCode, properties: read.properties };
}
