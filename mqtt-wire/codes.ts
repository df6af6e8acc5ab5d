/**
 * The numbers of the MQTT wire, each with the clause that defines it: MQTT 3.1.1 (OASIS Standard,
 * 29 October 2014) and MQTT 5.0 (OASIS Standard, 7 March 2019). Where both versions agree, both
 * clauses are named; "v5" marks what only MQTT 5.0 has.
 */

/** Protocol Level byte of CONNECT: 4 = MQTT 3.1.1 (3.1.1 §3.1.2.2), 5 = MQTT 5.0 (v5 §3.1.2.2). */
export type ProtocolVersion = 4 | 5;

/** The names people type for the protocol levels (`--mqtt-version 3.1.1|5`, `"mqttVersion": "5"`). */
export const MQTT_VERSION_LABELS = ['3.1.1', '5'] as const;
export type MqttVersionLabel = (typeof MQTT_VERSION_LABELS)[number];

const LEVEL_OF_LABEL: Readonly<Record<MqttVersionLabel, ProtocolVersion>> = { '3.1.1': 4, '5': 5 };

/** The CONNECT protocol level a label stands for; undefined for anything that is no label. */
export function protocolLevelOf(label: string): ProtocolVersion | undefined {
  return Object.hasOwn(LEVEL_OF_LABEL, label) ? LEVEL_OF_LABEL[label as MqttVersionLabel] : undefined;
}

/** Control packet types, the high nibble of the fixed header's first byte (3.1.1 §2.2.1, v5 §2.1.2). */
export const PacketType = {
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  /** v5 only (v5 §3.15); reserved in 3.1.1. */
  AUTH: 15,
} as const;

/**
 * The low nibble of the fixed header. PUBLISH carries DUP, QoS and RETAIN there (3.1.1 §3.3.1, v5
 * §3.3.1); every other packet has fixed "reserved" flags that MUST be as listed [MQTT-2.2.2-1]
 * (v5 [MQTT-2.1.3-1]), and other flags mean the connection is closed [MQTT-2.2.2-2].
 */
export const PublishFlag = {
  /** Set on a redelivery [MQTT-3.3.1-1]; 0 for every QoS 0 message [MQTT-3.3.1-2]. */
  DUP: 0x08,
  QOS_MASK: 0x06,
  QOS_SHIFT: 1,
  RETAIN: 0x01,
} as const;

/** Reserved flags of the packets a client receives: PUBREL is the one with 0b0010 [MQTT-3.6.1-1]. */
export const RESERVED_FLAGS: Readonly<Partial<Record<number, number>>> = {
  [PacketType.CONNACK]: 0,
  [PacketType.PUBACK]: 0,
  [PacketType.PUBREC]: 0,
  [PacketType.PUBREL]: 0b0010,
  [PacketType.PUBCOMP]: 0,
  [PacketType.SUBACK]: 0,
  [PacketType.UNSUBACK]: 0,
  [PacketType.PINGRESP]: 0,
  [PacketType.DISCONNECT]: 0,
  [PacketType.AUTH]: 0,
};

/** The largest Remaining Length the four-byte encoding can carry (3.1.1 §2.2.3, v5 §1.5.5). */
export const MAX_REMAINING_LENGTH = 268_435_455;
/** The largest Packet Identifier; 0 is never one [MQTT-2.3.1-1] (v5 [MQTT-2.2.1-3]). */
export const MAX_PACKET_ID = 65_535;

/** CONNACK return codes of MQTT 3.1.1 (3.1.1 §3.2.2.3, table 3.1). */
export const ConnackReturnCode = {
  ACCEPTED: 0x00,
  UNACCEPTABLE_PROTOCOL_VERSION: 0x01,
  IDENTIFIER_REJECTED: 0x02,
  SERVER_UNAVAILABLE: 0x03,
  BAD_USERNAME_OR_PASSWORD: 0x04,
  NOT_AUTHORIZED: 0x05,
} as const;

/**
 * Reason codes of MQTT 5.0 (v5 §2.4). A code of 0x80 or more is a failure; the packets that may
 * carry each code are listed with the packet (v5 §3.2.2.2 CONNACK, §3.4.2.1 PUBACK, §3.9.3 SUBACK,
 * §3.14.2.1 DISCONNECT).
 */
export const ReasonCode = {
  SUCCESS: 0x00,
  /** SUBACK: granted QoS 0/1/2 share the values 0x00-0x02. */
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BANNED: 0x8a,
  SERVER_SHUTTING_DOWN: 0x8b,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  MESSAGE_RATE_TOO_HIGH: 0x96,
  QUOTA_EXCEEDED: 0x97,
  ADMINISTRATIVE_ACTION: 0x98,
  PAYLOAD_FORMAT_INVALID: 0x99,
  RETAIN_NOT_SUPPORTED: 0x9a,
  QOS_NOT_SUPPORTED: 0x9b,
  /** CONNACK/DISCONNECT with a Server Reference: try that server (v5 §4.11). */
  USE_ANOTHER_SERVER: 0x9c,
  /** CONNACK/DISCONNECT with a Server Reference: go there from now on (v5 §4.11). */
  SERVER_MOVED: 0x9d,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  CONNECTION_RATE_EXCEEDED: 0x9f,
  MAXIMUM_CONNECT_TIME: 0xa0,
  SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED: 0xa1,
  WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED: 0xa2,
} as const;

/** The 3.1.1 CONNACK refusals (3.1.1 table 3.1, return codes 1-5). */
export type ConnackRefusal = Exclude<(typeof ConnackReturnCode)[keyof typeof ConnackReturnCode], 0>;

/** The v5 reason code that says what a 3.1.1 CONNACK refusal says (3.1.1 table 3.1 -> v5 §3.2.2.2). */
export const V5_OF_CONNACK: Readonly<Record<ConnackRefusal, number>> = {
  [ConnackReturnCode.UNACCEPTABLE_PROTOCOL_VERSION]: ReasonCode.UNSUPPORTED_PROTOCOL_VERSION,
  [ConnackReturnCode.IDENTIFIER_REJECTED]: ReasonCode.CLIENT_IDENTIFIER_NOT_VALID,
  [ConnackReturnCode.SERVER_UNAVAILABLE]: ReasonCode.SERVER_UNAVAILABLE,
  [ConnackReturnCode.BAD_USERNAME_OR_PASSWORD]: ReasonCode.BAD_USER_NAME_OR_PASSWORD,
  [ConnackReturnCode.NOT_AUTHORIZED]: ReasonCode.NOT_AUTHORIZED,
};

/**
 * Reason strings for DISCONNECTs a server sends without one. Paho for Python 1.6 reads a
 * DISCONNECT's reason code only when properties follow it (remaining length > 2), so a bare one
 * reaches its application as "connection lost".
 */
export const DISCONNECT_TEXT: Readonly<Record<number, string>> = {
  [ReasonCode.PROTOCOL_ERROR]: 'protocol error',
  [ReasonCode.SERVER_SHUTTING_DOWN]: 'server shutting down',
  [ReasonCode.SESSION_TAKEN_OVER]: 'session taken over',
  [ReasonCode.TOPIC_ALIAS_INVALID]: 'topic alias invalid',
  [ReasonCode.PACKET_TOO_LARGE]: 'packet too large',
};

/** 3.1.1 SUBACK: the one failure code [MQTT-3.9.3-2]; in v5 every code of 0x80 or more refuses. */
export const SUBACK_FAILURE_V4 = 0x80;

/** A v5 reason code (or a 3.1.1 SUBACK code) that reports a failure (v5 §2.4). */
export const isFailure = (code: number): boolean => code >= 0x80;

/**
 * v5 property identifiers (v5 §2.2.2.2, table 2-4), with the type of their value (v5 §1.5:
 * byte, two/four-byte integer, variable byte integer, UTF-8 string, binary data, string pair).
 */
export const PropertyId = {
  PAYLOAD_FORMAT_INDICATOR: 0x01,
  MESSAGE_EXPIRY_INTERVAL: 0x02,
  CONTENT_TYPE: 0x03,
  RESPONSE_TOPIC: 0x08,
  CORRELATION_DATA: 0x09,
  SUBSCRIPTION_IDENTIFIER: 0x0b,
  SESSION_EXPIRY_INTERVAL: 0x11,
  ASSIGNED_CLIENT_IDENTIFIER: 0x12,
  SERVER_KEEP_ALIVE: 0x13,
  AUTHENTICATION_METHOD: 0x15,
  AUTHENTICATION_DATA: 0x16,
  REQUEST_PROBLEM_INFORMATION: 0x17,
  WILL_DELAY_INTERVAL: 0x18,
  REQUEST_RESPONSE_INFORMATION: 0x19,
  RESPONSE_INFORMATION: 0x1a,
  SERVER_REFERENCE: 0x1c,
  REASON_STRING: 0x1f,
  RECEIVE_MAXIMUM: 0x21,
  TOPIC_ALIAS_MAXIMUM: 0x22,
  TOPIC_ALIAS: 0x23,
  MAXIMUM_QOS: 0x24,
  RETAIN_AVAILABLE: 0x25,
  USER_PROPERTY: 0x26,
  MAXIMUM_PACKET_SIZE: 0x27,
  WILDCARD_SUBSCRIPTION_AVAILABLE: 0x28,
  SUBSCRIPTION_IDENTIFIER_AVAILABLE: 0x29,
  SHARED_SUBSCRIPTION_AVAILABLE: 0x2a,
} as const;

/** Defaults a v5 client assumes when the CONNACK leaves a property out (v5 §3.2.2.3). */
export const V5_DEFAULTS = {
  /** Receive Maximum absent: 65,535 (v5 §3.2.2.3.3). */
  receiveMaximum: 65_535,
  /** Topic Alias Maximum absent: 0, no aliases may be sent (v5 §3.2.2.3.8). */
  topicAliasMaximum: 0,
} as const;
