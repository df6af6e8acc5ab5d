import type { IConnectPacket, QoS } from 'mqtt-packet';
import type { MqttClientOptions } from './client-options.ts';
import type { ProtocolVersion } from './codes.ts';

export type ConnectProperties = Omit<
  NonNullable<IConnectPacket['properties']>,
  'maximumPacketSize' | 'topicAliasMaximum' | 'authenticationMethod' | 'authenticationData'
>;
export type WillProperties = NonNullable<NonNullable<IConnectPacket['will']>['properties']>;

export interface WillMessage {
  topic: string;
  payload: string | Buffer;
  qos?: QoS;
  retain: boolean;
  /** v5 only (will delay interval, message expiry, content type, …; v5 §3.1.3.2). */
  properties?: WillProperties;
}

export interface ConnectFields {
  protocolVersion: ProtocolVersion;
  clientId: string;
  username?: string;
  password?: string | Buffer;
  clean: boolean;
  keepaliveS: number;
  will?: WillMessage;
  /** v5 CONNECT properties (v5 §3.1.2.11): session expiry, receive maximum, problem information, … */
  properties?: ConnectProperties;
  /** v5: the largest packet we accept, which the server must not exceed (v5 [MQTT-3.1.2-24]); the reader refuses larger ones in any version. */
  maximumPacketSize?: number;
  /** v5: the highest topic alias the server may use towards us (v5 §3.1.2.11.5); 0 = none. */
  topicAliasMaximum?: number;
}

/**
 * The CONNECT packet (3.1.1 §3.1, v5 §3.1) as mqtt-packet encodes it. Properties and will
 * properties are left out of a 3.1.1 CONNECT, which has none.
 */
export function connectPacket(fields: ConnectFields): IConnectPacket {
  const { protocolVersion, clientId, username, password, clean, keepaliveS, will } = fields;
  const v5 = protocolVersion === 5;
  const properties = v5
    ? {
        ...fields.properties,
        ...(fields.maximumPacketSize !== undefined ? { maximumPacketSize: fields.maximumPacketSize } : {}),
        ...(fields.topicAliasMaximum ? { topicAliasMaximum: fields.topicAliasMaximum } : {}),
      }
    : {};
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion,
    clean,
    clientId,
    keepalive: keepaliveS,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password: typeof password === 'string' ? Buffer.from(password) : password } : {}),
    ...(will
      ? {
          will: {
            topic: will.topic,
            payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
            qos: will.qos ?? 1,
            retain: will.retain,
            ...(v5 && will.properties ? { properties: will.properties } : {}),
          },
        }
      : {}),
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
  };
}

const NEVER_EXPIRES = 0xffff_ffff;

/**
 * The CONNECT a client sends for its options. An empty client id asks a v5 server to assign one,
 * and the assigned one is kept for the reconnects. A v5 CONNECT with clean false and no session
 * expiry would end the session at the first disconnect (v5 §3.1.2.11.2), so what 3.1.1 calls a
 * persistent session goes out as Session Expiry Interval 0xFFFFFFFF (never).
 */
export function clientConnect(options: MqttClientOptions, protocolVersion: ProtocolVersion, assignedClientId: string | undefined): IConnectPacket {
  const { clientId, clean = false, properties } = options;
  const keepSession = protocolVersion === 5 && !clean && properties?.sessionExpiryInterval === undefined;
  return connectPacket({
    ...options,
    protocolVersion,
    clientId: clientId === '' ? (assignedClientId ?? '') : clientId,
    clean,
    properties: keepSession ? { sessionExpiryInterval: NEVER_EXPIRES, ...properties } : properties,
  });
}
