import type { IPublishPacket } from 'mqtt-packet';
import type { BackoffPolicy } from './backoff.ts';
import type { ProtocolVersion } from './codes.ts';
import type { ConnectProperties, WillMessage } from './connect-packet.ts';
import type { MqttError } from './errors.ts';
import type { Connack, Disconnect, IncomingPublish } from './packets.ts';
import type { TlsOptions } from './transport.ts';

/** Bytes a client wrote, added up across its connections; one tally may serve many clients (a fleet). */
export interface WireTally {
  bytesWritten: number;
}

export interface MqttClientOptions {
  url: string;
  /** '' lets a v5 server assign one (kept for the reconnects). */
  clientId: string;
  username?: string;
  password?: string | Buffer;
  /** 4 = MQTT 3.1.1 (the default), 5 = MQTT 5.0. */
  protocolVersion?: ProtocolVersion;
  /** Clean session (3.1.1) / clean start (v5). Default false: the broker keeps the session. */
  clean?: boolean;
  keepaliveS: number;
  connectTimeoutMs: number;
  will?: WillMessage;
  /**
   * v5 CONNECT properties. A v5 CONNECT with clean false and no session expiry would end the session
   * at the first disconnect (v5 §3.1.2.11.2); what 3.1.1 calls a persistent session is then sent as
   * Session Expiry Interval 0xFFFFFFFF (never), unless one is given here.
   */
  properties?: ConnectProperties;
  /** The largest packet accepted from the server (announced in a v5 CONNECT); larger ones break the connection. */
  maximumPacketSize?: number;
  /** v5: topic aliases the server may use towards us (0 or absent: none). */
  topicAliasMaximum?: number;
  /** v5: alias outgoing topics, up to the server's Topic Alias Maximum (see topic-aliases.ts). */
  outgoingTopicAliases?: boolean;
  /** Incoming QoS 1/2 messages are acknowledged by the owner (acknowledge()), in any order, not on arrival. */
  manualAck?: boolean;
  /** Reconnect after every close with this backoff; without it reconnecting is the owner's call (open()). */
  reconnect?: BackoffPolicy;
  tls?: TlsOptions;
  /** Every MQTT packet written is added here (fixed header included; TLS and WebSocket framing not). */
  tally?: WireTally;
}

export interface MqttClientHandlers {
  /** The broker accepted the CONNECT; publishes still unacknowledged have been resent. */
  connect(connack: Connack): void;
  /** The connection is gone; unacknowledged publishes are kept for the next one. */
  close(): void;
  /** A refused CONNECT (code = its return/reason code, maybe a server reference), a broken stream, a timeout. */
  error(error: Error & { code?: string | number }): void;
  message(publish: IncomingPublish): void;
  /** v5: the server's DISCONNECT (reason code, maybe a server reference), just before the close. */
  disconnect?(packet: Disconnect): void;
}

export type SubscribeDone = (error: MqttError | undefined, granted: number[]) => void;
export type PublishProperties = Omit<NonNullable<IPublishPacket['properties']>, 'topicAlias' | 'subscriptionIdentifier'>;

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  /** v5 only; left out of a 3.1.1 PUBLISH. */
  properties?: PublishProperties;
}
