import type { Aedes, Client } from 'aedes';
import { ReasonCode } from '../mqtt-wire/codes.ts';

/**
 * MQTT 5 sessions across the nodes of a cluster. aedes 2.0.0-beta.1 keeps a disconnected session's
 * expiry timer and a will's delay timer on the node the client left, and checks only that node's
 * own clients when they fire; a takeover from another node closes the old connection without a
 * word. So a v5 client that reconnected to another node within its session expiry had its session
 * (subscriptions, queue) wiped under it when the old node's timer fired, and one that reconnected
 * within its will delay had its will published while it was online again.
 *
 * Every node announces each client it registers on `$SYS/{brokerId}/new/clients` (aedes' own
 * cluster message, which its `closeSameClients` listener acts on). This wraps that listener on the
 * shared emitter: before aedes' own handling, a node that hears another node registered a client id
 * - cancels its pending session expiry for that id, and its delayed will, deleting the will it
 *   persisted (the new connection stored its own) [MQTT-3.1.3-9: not sent if the client reconnects
 *   within the delay];
 * - sends its own live v5 connection of that id DISCONNECT 0x8E (session taken over) [MQTT-3.1.4-3],
 *   marking the id as taken over meanwhile, as aedes does for a takeover on one node, so that
 *   closing the old connection neither expires the session nor delays its will.
 */
const NEW_CLIENTS = '$SYS/+/new/clients';

type Message = { topic: string; [key: string]: unknown };
type Listener = (message: Message, done: () => void) => void;
interface Emitter {
  on(topic: string, listener: Listener, callback?: () => void): unknown;
}

export function sessionsAcrossNodes<E extends Emitter>(mq: E, brokerOf: () => Aedes | null): E {
  const on = mq.on.bind(mq);
  const wrapped = Object.create(mq) as E;
  wrapped.on = (topic: string, listener: Listener, callback?: () => void): unknown => {
    if (topic !== NEW_CLIENTS) return on(topic, listener, callback);
    return on(topic, (message, done) => beforeAedes(brokerOf(), message, () => listener(message, done)), callback);
  };
  return wrapped;
}

function beforeAedes(broker: Aedes | null, message: Message, next: () => void): void {
  const announcedBy = message.topic.split('/')[1];
  const clientId = Buffer.isBuffer(message.payload) ? message.payload.toString('utf8') : String(message.payload);
  if (broker === null || announcedBy === broker.id) return next();
  cancelPendingTimers(broker, clientId);
  const clients: unknown = Reflect.get(broker, 'clients');
  const local: unknown = typeof clients === 'object' && clients !== null ? Reflect.get(clients, clientId) : undefined;
  if (!isClient(local) || local.closed || local.version !== 5) return next();
  const takingOver: unknown = Reflect.get(broker, '_takingOver');
  if (takingOver instanceof Set) takingOver.add(clientId);
  local.disconnect({ reasonCode: ReasonCode.SESSION_TAKEN_OVER }, () => {
    if (takingOver instanceof Set) takingOver.delete(clientId);
    next();
  });
}

function cancelPendingTimers(broker: Aedes, clientId: string): void {
  const call = (method: string): void => {
    const fn: unknown = Reflect.get(broker, method);
    if (typeof fn === 'function') Reflect.apply(fn, broker, [clientId]);
  };
  call('clearSessionExpiry');
  const delayed: unknown = Reflect.get(broker, 'delayedWills');
  if (!(delayed instanceof Map) || !delayed.has(clientId)) return;
  call('clearDelayedWill');
  const persistence: unknown = Reflect.get(broker, 'persistence');
  const delWill: unknown = typeof persistence === 'object' && persistence !== null ? Reflect.get(persistence, 'delWill') : undefined;
  if (typeof delWill === 'function') {
    Promise.resolve(Reflect.apply(delWill, persistence, [{ id: clientId, brokerId: broker.id }])).catch((error: unknown) =>
      broker.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }
}

const isClient = (value: unknown): value is Client => typeof value === 'object' && value !== null && typeof Reflect.get(value, 'disconnect') === 'function';
