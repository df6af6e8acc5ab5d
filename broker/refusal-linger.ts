import type { Socket } from 'node:net';

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
 */
export function lingerWhenRefused(socket: Socket, loggedIn: () => boolean): void {
  const destroy = socket.destroy.bind(socket);
  let lingering = false;
  socket.destroy = (error?: Error): Socket => {
    // aedes reports the refusal as an error right after its close: the socket is ours by then.
    if (lingering) return socket;
    if (error !== undefined || loggedIn() || socket.destroyed || socket.writableEnded) return destroy(error);
    lingering = true;
    const cut = (): void => {
      clearTimeout(timer);
      destroy();
    };
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    socket.once('end', cut);
    socket.once('error', cut);
    socket.on('data', () => undefined);
    socket.resume();
    socket.end();
    return socket;
  };
}
