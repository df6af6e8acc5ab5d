import type { UserProperties } from 'mqtt-packet';
import { PropertyId } from './codes.ts';
import { MALFORMED, INCOMPLETE, readVariableByteInteger, vbiLength, vbiValue } from './fixed-header.ts';

/**
 * Every MQTT 5.0 property a server may send a client, named as mqtt-packet names them (so what we
 * read and what we hand mqtt-packet's encoder have one shape). v5 §2.2.2.2.
 */
export interface Properties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  subscriptionIdentifier?: number | number[];
  sessionExpiryInterval?: number;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  authenticationMethod?: string;
  authenticationData?: Buffer;
  requestProblemInformation?: boolean;
  willDelayInterval?: number;
  requestResponseInformation?: boolean;
  responseInformation?: string;
  serverReference?: string;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQoS?: number;
  retainAvailable?: boolean;
  userProperties?: UserProperties;
  maximumPacketSize?: number;
  wildcardSubscriptionAvailable?: boolean;
  subscriptionIdentifiersAvailable?: boolean;
  sharedSubscriptionAvailable?: boolean;
}

type Kind = 'byte' | 'flag' | 'u16' | 'u32' | 'vbi' | 'string' | 'binary' | 'pair';
type Name = Exclude<keyof Properties, 'userProperties'>;

/** Identifier -> name and value type (v5 §2.2.2.2, table 2-4). */
const TABLE: Readonly<Record<number, readonly [Name | 'userProperties', Kind]>> = {
  [PropertyId.PAYLOAD_FORMAT_INDICATOR]: ['payloadFormatIndicator', 'flag'],
  [PropertyId.MESSAGE_EXPIRY_INTERVAL]: ['messageExpiryInterval', 'u32'],
  [PropertyId.CONTENT_TYPE]: ['contentType', 'string'],
  [PropertyId.RESPONSE_TOPIC]: ['responseTopic', 'string'],
  [PropertyId.CORRELATION_DATA]: ['correlationData', 'binary'],
  [PropertyId.SUBSCRIPTION_IDENTIFIER]: ['subscriptionIdentifier', 'vbi'],
  [PropertyId.SESSION_EXPIRY_INTERVAL]: ['sessionExpiryInterval', 'u32'],
  [PropertyId.ASSIGNED_CLIENT_IDENTIFIER]: ['assignedClientIdentifier', 'string'],
  [PropertyId.SERVER_KEEP_ALIVE]: ['serverKeepAlive', 'u16'],
  [PropertyId.AUTHENTICATION_METHOD]: ['authenticationMethod', 'string'],
  [PropertyId.AUTHENTICATION_DATA]: ['authenticationData', 'binary'],
  [PropertyId.REQUEST_PROBLEM_INFORMATION]: ['requestProblemInformation', 'flag'],
  [PropertyId.WILL_DELAY_INTERVAL]: ['willDelayInterval', 'u32'],
  [PropertyId.REQUEST_RESPONSE_INFORMATION]: ['requestResponseInformation', 'flag'],
  [PropertyId.RESPONSE_INFORMATION]: ['responseInformation', 'string'],
  [PropertyId.SERVER_REFERENCE]: ['serverReference', 'string'],
  [PropertyId.REASON_STRING]: ['reasonString', 'string'],
  [PropertyId.RECEIVE_MAXIMUM]: ['receiveMaximum', 'u16'],
  [PropertyId.TOPIC_ALIAS_MAXIMUM]: ['topicAliasMaximum', 'u16'],
  [PropertyId.TOPIC_ALIAS]: ['topicAlias', 'u16'],
  [PropertyId.MAXIMUM_QOS]: ['maximumQoS', 'byte'],
  [PropertyId.RETAIN_AVAILABLE]: ['retainAvailable', 'flag'],
  [PropertyId.USER_PROPERTY]: ['userProperties', 'pair'],
  [PropertyId.MAXIMUM_PACKET_SIZE]: ['maximumPacketSize', 'u32'],
  [PropertyId.WILDCARD_SUBSCRIPTION_AVAILABLE]: ['wildcardSubscriptionAvailable', 'flag'],
  [PropertyId.SUBSCRIPTION_IDENTIFIER_AVAILABLE]: ['subscriptionIdentifiersAvailable', 'flag'],
  [PropertyId.SHARED_SUBSCRIPTION_AVAILABLE]: ['sharedSubscriptionAvailable', 'flag'],
};

/** The properties and where the packet goes on after them, or why they are malformed. */
export type PropertiesRead = { properties: Properties | undefined; next: number } | string;

/**
 * Reads a Property Length (a Variable Byte Integer) at `offset` and the properties after it, within
 * `end`. An empty list gives `properties: undefined`, so the common case allocates nothing. A
 * property given twice is a Protocol Error (v5 §2.2.2.2), except User Property, which may repeat
 * and keeps its order [MQTT-3.3.2-17], [MQTT-3.3.2-18], and Subscription Identifier, which a
 * PUBLISH carries once per matching subscription (v5 §3.3.2.3.8).
 */
export function readProperties(bytes: Buffer, offset: number, end: number): PropertiesRead {
  const packed = readVariableByteInteger(bytes, offset, end);
  if (packed === INCOMPLETE || packed === MALFORMED) return 'malformed property length';
  const start = offset + vbiLength(packed);
  const stop = start + vbiValue(packed);
  if (stop > end) return 'property length beyond the packet';
  if (stop === start) return { properties: undefined, next: stop };
  const properties: Properties = {};
  const seen = properties as Record<string, unknown>;
  let at = start;
  while (at < stop) {
    const entry = TABLE[bytes[at]!];
    if (entry === undefined) return `unknown property 0x${bytes[at]!.toString(16)}`;
    const [name, kind] = entry;
    at++;
    const read = readValue(bytes, at, stop, kind);
    if (read === null) return `property ${name} runs past its list`;
    at = read.next;
    if (name === 'userProperties') {
      const [key, value] = read.value as [string, string];
      properties.userProperties ??= {};
      const list = properties.userProperties;
      const held = list[key];
      list[key] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [held, value];
    } else if (name === 'subscriptionIdentifier' && properties.subscriptionIdentifier !== undefined) {
      const held = properties.subscriptionIdentifier;
      properties.subscriptionIdentifier = [...(Array.isArray(held) ? held : [held]), read.value as number];
    } else {
      if (seen[name] !== undefined) return `property ${name} given twice`;
      seen[name] = read.value;
    }
  }
  return { properties, next: stop };
}

function readValue(bytes: Buffer, at: number, stop: number, kind: Kind): { value: unknown; next: number } | null {
  switch (kind) {
    case 'byte':
    case 'flag':
      if (at + 1 > stop) return null;
      return { value: kind === 'flag' ? bytes[at] === 1 : bytes[at]!, next: at + 1 };
    case 'u16':
      if (at + 2 > stop) return null;
      return { value: bytes.readUInt16BE(at), next: at + 2 };
    case 'u32':
      if (at + 4 > stop) return null;
      return { value: bytes.readUInt32BE(at), next: at + 4 };
    case 'vbi': {
      const packed = readVariableByteInteger(bytes, at, stop);
      if (packed < 0) return null;
      return { value: vbiValue(packed), next: at + vbiLength(packed) };
    }
    case 'string':
    case 'binary': {
      const read = readLengthPrefixed(bytes, at, stop);
      if (read === null) return null;
      return { value: kind === 'string' ? bytes.toString('utf8', read.start, read.next) : Buffer.from(bytes.subarray(read.start, read.next)), next: read.next };
    }
    case 'pair': {
      const key = readLengthPrefixed(bytes, at, stop);
      if (key === null) return null;
      const value = readLengthPrefixed(bytes, key.next, stop);
      if (value === null) return null;
      return { value: [bytes.toString('utf8', key.start, key.next), bytes.toString('utf8', value.start, value.next)], next: value.next };
    }
  }
}

/** A two-byte length and that many bytes (v5 §1.5.4 UTF-8 string, §1.5.6 binary data; 3.1.1 §1.5.3). */
export function readLengthPrefixed(bytes: Buffer, at: number, stop: number): { start: number; next: number } | null {
  if (at + 2 > stop) return null;
  const next = at + 2 + bytes.readUInt16BE(at);
  return next > stop ? null : { start: at + 2, next };
}
