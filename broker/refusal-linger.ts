import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

/** How long a refused connection may keep sending before it is cut: enough for its CONNACK to be read. */
const LINGER_MS = 1_000;

/**
 * A connection closed without a login (a refused CONNECT, [MQTT-3.2.2-5]: closed after its CONNACK)
 * is closed gracefully. aedes destroys the socket as soon as the CONNACK is written; if the device
 * sent more behind its CONNECT (a pipelined PUBLISH, a reconnecting device's backlog), those bytes
 * are still unread, and closing a socket with unread bytes resets it. A reset that reaches the
 * device before it has read the CONNACK discards the CONNACK with it: the device sees a dropped
 * connection and never learns why it was refused (or, MQTT 5, where its home plane is). Here such a
 * close sends FIN after the CONNACK and discards what still comes in until the device closes its side,
 * or for LINGER_MS at most. Connections that logged in are destroyed as aedes asks.
 *
 * Returns what to call on each accepted socket. Every socket of one broker shares one replacement
 * `destroy` (this function's), so a connection costs no closure of its own; `loggedIn` is asked
 * about the socket when it is destroyed.
 */
export function lingerWhenRefused(loggedIn: (socket: Socket) => boolean): (socket: Socket) => void {
  function lingeringDestroy(this: Socket, error?: Error): Socket {
    // aedes reports the refusal as an error right after its close: the socket is ours by then.
    if (lingering.has(this)) return this;
    if (error !== undefined || loggedIn(this) || this.destroyed || this.writableEnded) return Duplex.prototype.destroy.call(this, error) as Socket;
    lingering.add(this);
    const cut = (): void => {
      clearTimeout(timer);
      Duplex.prototype.destroy.call(this);
    };
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    this.once('end', cut);
    this.once('error', cut);
    this.on('data', () => undefined);
    this.resume();
    this.end();
    return this;
  }
  return (socket) => {
    if (socket.destroy !== Duplex.prototype.destroy) throw new Error('socket with a destroy of its own: lingering would bypass it');
    socket.destroy = lingeringDestroy;
  };
}

/** Sockets closing gracefully after a refusal; an entry goes with its socket. */
const lingering = new WeakSet<Socket>();
