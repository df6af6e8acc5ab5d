import type { Properties } from './properties.ts';

/**
 * What a client reports to its owner: a refused CONNECT (code = the CONNACK return or reason code),
 * a refused PUBLISH or SUBSCRIBE (v5 reason codes, 0x80 in 3.1.1 SUBACKs), a broken stream
 * ('EPROTO'), a timeout ('ETIMEDOUT'), no connection ('ENOTCONN'). A v5 refusal may name a server to
 * go to instead (CONNACK 0x9C use another server, 0x9D server moved; v5 §4.11).
 */
export class MqttError extends Error {
  readonly code: string | number;
  /** The v5 reason code (or 3.1.1 return code) when a packet carried one. */
  readonly reasonCode: number | undefined;
  readonly serverReference: string | undefined;
  readonly reasonString: string | undefined;
  /** The broker's packet that carried the code; absent when the client itself gave up (e.g. a PUBLISH above the server's maximum). */
  readonly from: 'CONNACK' | 'PUBACK' | 'SUBACK' | undefined;

  constructor(message: string, code: string | number, properties?: Properties, from?: 'CONNACK' | 'PUBACK' | 'SUBACK') {
    super(message);
    this.from = from;
    this.name = 'MqttError';
    this.code = code;
    this.reasonCode = typeof code === 'number' ? code : undefined;
    this.serverReference = properties?.serverReference;
    this.reasonString = properties?.reasonString;
  }
}

export const notConnected = (): MqttError => new MqttError('not connected', 'ENOTCONN');
export const idsExhausted = (): MqttError => new MqttError('every packet identifier is in use', 'EBUSY');
