import { connect as netConnect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { WebSocketStream } from './websocket-client.ts';

/** What a TLS or WSS connection may need beyond the URL: a private CA, a client certificate. */
export type TlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

const SCHEMES = new Set(['mqtt:', 'tcp:', 'mqtts:', 'tls:', 'ws:', 'wss:']);

/** Whether openTransport takes this text: a URL with a host and one of its six schemes. */
export function isTransportUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const u = new URL(text);
  return SCHEMES.has(u.protocol) && u.hostname !== '';
}

/** Whether the URL is MQTT straight over TLS (`mqtts://`, `tls://`), where a client certificate can be presented. */
export function isTlsMqttUrl(text: string): boolean {
  return isTransportUrl(text) && ['mqtts:', 'tls:'].includes(new URL(text).protocol);
}

/**
 * Opens the byte stream an MQTT client speaks over, from the broker URL: `mqtt://`/`tcp://` (port
 * 1883), `mqtts://`/`tls://` (8883), `ws://`/`wss://` (the URL's path, e.g. `/mqtt`). Nagle is off
 * everywhere: at low rates it adds ~20 ms to every QoS 0 message. Throws on another scheme.
 */
export function openTransport(url: string, tls: TlsOptions = {}): Duplex {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  switch (u.protocol) {
    case 'mqtt:':
    case 'tcp:':
      return netConnect({ host, port: Number(u.port || 1883), noDelay: true });
    case 'mqtts:':
    case 'tls:': {
      // SNI takes a host name, never an address (RFC 6066 §3).
      const socket = tlsConnect({ host, port: Number(u.port || 8883), ...(isIP(host) ? {} : { servername: host }), ...tls });
      socket.setNoDelay(true);
      return socket;
    }
    case 'ws:':
    case 'wss:':
      return new WebSocketStream(u, isIP(host) || tls.servername ? tls : { servername: host, ...tls });
    default:
      throw new Error(`unsupported broker URL scheme ${u.protocol} (mqtt, mqtts, tcp, tls, ws, wss)`);
  }
}
