import type { Client } from 'aedes';
import { EventEmitter } from 'node:events';
import { DISCONNECT_TEXT } from '../mqtt-wire/codes.ts';

/**
 * Ends a connection from the broker's side. An MQTT 5 client is told why first: a DISCONNECT with
 * the reason code and a short reason string (the limit's name, never a payload), then the socket
 * closes once that packet is written [MQTT-3.14.2-1] [MQTT-3.14.4-1]. MQTT 3.1.1 has no DISCONNECT
 * from the server, so a 3.1.1 client's connection is just closed. Nothing more is read from the
 * client meanwhile. Either way an unsent will is published, as for any close without the client's
 * own DISCONNECT [MQTT-3.1.2-8].
 */
export function disconnectClient(client: Client, reasonCode: number, reasonString: string, done: () => void = () => undefined): void {
  const pause: unknown = Reflect.get(client, 'pause');
  if (typeof pause === 'function') Reflect.apply(pause, client, []);
  if (client.version === 5) client.disconnect({ reasonCode, properties: { reasonString } }, done);
  else client.close(done);
}

/**
 * [MQTT-3.14.4-1] After sending a DISCONNECT the sender MUST NOT send any more packets on that
 * connection. aedes 2.0.0-beta.1 keeps writing what the packets already read ask for (PUBACKs, a
 * second DISCONNECT for the next publish over the rate) until the close completes, and a second
 * disconnect() closes the socket at once, discarding the first DISCONNECT before it is flushed.
 * Here every DISCONNECT aedes writes to this client (ours above, and its own: takeover, shutdown,
 * packet too large, topic alias invalid) ends the session's input and output the moment the packet
 * is queued: the packets still to come from the same read are dropped (as close() drops them) and
 * nothing more is read, the client is marked no longer connected so aedes' writer refuses whatever
 * comes after the DISCONNECT (those refusals end in the close under way), and a later disconnect()
 * waits for the first one's close instead of cutting it short. Each gets a reason string
 * (DISCONNECT_TEXT) when aedes gives none, so every client can read its reason code.
 */
export function makeDisconnectFinal(client: Client): void {
  if (Object.hasOwn(client, 'disconnect')) throw new Error('aedes client with a disconnect of its own: it would be bypassed');
  // One function for every client (no closure per connection); its only state, the callbacks of
  // calls that came after the first DISCONNECT, exists from that DISCONNECT on and goes with the client.
  Reflect.set(client, 'disconnect', finalDisconnect);
}

type Disconnect = (this: Client, opts: object, done: () => void) => void;

/** Per client, while its first DISCONNECT is being written: the callbacks of the later calls. */
const waitingOnDisconnect = new WeakMap<Client, Array<() => void>>();

function finalDisconnect(this: Client, opts?: object | (() => void), callback?: () => void): void {
  const disconnect = (Object.getPrototypeOf(this) as { disconnect: Disconnect }).disconnect;
  const done = typeof opts === 'function' ? (opts as () => void) : (callback ?? (() => undefined));
  const waiting = waitingOnDisconnect.get(this);
  if (waiting) {
    waiting.push(done);
    return;
  }
  if (!(this.version === 5 && this.connected && !this.closed)) {
    disconnect.call(this, typeof opts === 'object' ? opts : {}, done);
    return;
  }
  const after: Array<() => void> = [done];
  waitingOnDisconnect.set(this, after);
  disconnect.call(this, withReasonString(typeof opts === 'object' ? opts : {}), () => {
    for (const next of after) next();
  });
  const parser: unknown = Reflect.get(this, '_parser');
  if (parser instanceof EventEmitter) parser.removeAllListeners('packet');
  Reflect.set(this, '_paused', true);
  Reflect.set(this, 'connected', false);
}

function withReasonString(opts: { reasonCode?: number; properties?: { reasonString?: string } }): object {
  const text = DISCONNECT_TEXT[opts.reasonCode ?? 0];
  if (opts.properties?.reasonString !== undefined || text === undefined) return opts;
  return { ...opts, properties: { ...opts.properties, reasonString: text } };
}
