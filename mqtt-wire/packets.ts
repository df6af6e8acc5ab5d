import type { Properties } from './properties.ts';

/**
 * The packets a client reads, as the decoders hand them over. Field names follow mqtt-packet where
 * it has one; `reasonCode` is the 3.1.1 return code too, so owners read one field for both versions.
 */

/** A PUBLISH (3.1.1 §3.3, v5 §3.3). */
export interface IncomingPublish {
  /** The topic name; with v5 a topic alias is resolved by the client before the owner sees it. */
  topic: string;
  /** A view into the received bytes, not a copy: keep a copy if you keep it beyond the callback. */
  payload: Buffer;
  qos: 0 | 1 | 2;
  /** 0 for QoS 0 (no packet identifier then, [MQTT-2.3.1-5]; v5 [MQTT-2.2.1-2]). */
  messageId: number;
  dup: boolean;
  retain: boolean;
  /** v5 only, and only when the packet has any. */
  properties: Properties | undefined;
  /**
   * The connection it came in on (the frame reader's number): an acknowledgement is valid only on
   * that connection, since packet identifiers name deliveries of one network connection.
   */
  connection: number;
}

export interface Connack {
  cmd: 'connack';
  sessionPresent: boolean;
  /** 3.1.1 return code (3.1.1 §3.2.2.3) or v5 Connect Reason Code (v5 §3.2.2.2). */
  reasonCode: number;
  properties: Properties | undefined;
}

/** PUBACK, or PUBREL, which has the same layout (3.1.1 §3.4/§3.6, v5 §3.4/§3.6). */
export interface Acknowledgement {
  cmd: 'puback' | 'pubrel';
  messageId: number;
  /** 0x00 when the packet leaves it out (always in 3.1.1; v5 §3.4.2.1). */
  reasonCode: number;
  properties: Properties | undefined;
}

export interface Suback {
  cmd: 'suback';
  messageId: number;
  /** One per filter, in order [MQTT-3.9.3-1]: granted QoS, or a failure (0x80 in 3.1.1; >= 0x80 in v5). */
  granted: number[];
  properties: Properties | undefined;
}

export interface Pingresp {
  cmd: 'pingresp';
}

/** v5 only: the server says why it closes the connection (v5 §3.14). */
export interface Disconnect {
  cmd: 'disconnect';
  reasonCode: number;
  properties: Properties | undefined;
}

/** A packet type a server never sends a client (CONNECT, SUBSCRIBE, …), or one this client never asked for. */
export interface Unexpected {
  cmd: 'unexpected';
  type: number;
}

export type ControlPacket = Connack | Acknowledgement | Suback | Pingresp | Disconnect | Unexpected;

/** What a decoder returns: the packet, or why the bytes are not one (the connection is then closed). */
export type Decoded<T> = T | string;
