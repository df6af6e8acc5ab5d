/**
 * The keepalive rule every client of ours follows (3.1.1 §3.1.2.10, v5 §3.1.2.10), and the one
 * timer that applies it to all of them.
 *
 * - A client sends a control packet at least every keepalive period; with nothing else to send, a
 *   PINGREQ [MQTT-3.1.2-23] (v5: the Server Keep Alive from the CONNACK replaces ours [MQTT-3.2.2-21]).
 *   The rule is checked once per tick, so the ping goes one tick early rather than up to a tick
 *   late: with a Server Keep Alive of 1 s a late ping would reach a server past its 1.5 s bound.
 * - It also pings once the server has been silent for a whole period, so a server that only ever
 *   hears from us (QoS 0, or acknowledgements) is still asked whether it is there.
 * - A server silent for one and a half periods is gone: the same bound a server applies to a client
 *   (3.1.1 [MQTT-3.1.2-24]); the client closes the connection, as 3.1.1 §3.1.2.10 advises.
 * - Keepalive 0 switches all of it off.
 */
export type KeepaliveAction = 'none' | 'ping' | 'dead';

/** How often the shared ticker checks every client. */
export const TICK_MS = 1_000;

export function keepaliveAction(
  now: number,
  keepaliveMs: number,
  lastSentAt: number,
  lastHeardAt: number,
  awaitingPong: boolean,
  tickMs = TICK_MS,
): KeepaliveAction {
  if (keepaliveMs === 0) return 'none';
  if (now - lastHeardAt > keepaliveMs * 1.5) return 'dead';
  if (now - lastSentAt >= keepaliveMs - tickMs) return 'ping';
  if (now - lastHeardAt >= keepaliveMs && !awaitingPong) return 'ping';
  return 'none';
}

export interface Ticking {
  tick(now: number): void;
}

/**
 * One timer for every client in the process instead of one or two per client: ten thousand machines
 * would otherwise hold twenty thousand timers. Runs only while some client is registered, and does
 * not keep the process alive.
 */
export const sharedTicker = (() => {
  const members = new Set<Ticking>();
  let timer: NodeJS.Timeout | null = null;
  const tick = (): void => {
    const now = Date.now();
    for (const member of members) member.tick(now);
  };
  return {
    add(member: Ticking): void {
      members.add(member);
      timer ??= setInterval(tick, TICK_MS).unref();
    },
    delete(member: Ticking): void {
      members.delete(member);
      if (members.size === 0 && timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    },
  };
})();
