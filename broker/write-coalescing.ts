import type { Socket } from 'node:net';
import { Writable } from 'node:stream';

/**
 * Sends what aedes writes to one socket during one turn of the event loop in a single writev.
 *
 * aedes hands every delivery to its own setImmediate, and mqtt-packet corks the socket for one
 * packet and uncorks it on the next tick, so each message cost one system call on the broker and
 * one read on the subscriber: at QoS 0 that was the broker's largest single cost (~11 % of its CPU,
 * profiled with bench/broker.ts). Holding one extra cork until a setImmediate queued behind those
 * deliveries lets them pile up and go out together. The delay is at most one loop turn, and a
 * pending immediate keeps the loop from blocking in the poll phase, so nothing waits for I/O.
 * Back-pressure is unchanged: write() still returns false past the high-water mark and aedes waits
 * for 'drain', which follows the flush.
 */
export function coalesceWrites(socket: Socket): void {
  // net.Socket and tls.TLSSocket both cork with Writable's own; anything else keeps its own cork.
  if (socket.cork !== Writable.prototype.cork) throw new Error('socket with a cork of its own: write coalescing would bypass it');
  socket.cork = holdingCork;
}

// Shared by every socket, so a connection costs no closure of its own: the sockets holding an extra
// cork right now (at most one loop turn each) are the only state.
const held = new Set<Socket>();

function holdingCork(this: Socket): void {
  if (!held.has(this)) {
    held.add(this);
    Writable.prototype.cork.call(this);
    setImmediate(release, this);
  }
  Writable.prototype.cork.call(this);
}

function release(socket: Socket): void {
  held.delete(socket);
  socket.uncork();
}
