import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/**
 * aedes-persistence 11's memory store keeps each session's queue of outgoing QoS 1/2 messages in an
 * array and finds a message by scanning it: outgoingUpdate (each delivery, which is new and so at
 * the end) and outgoingClearMessageId (each PUBACK, then a splice) cost O(queue). The ingest
 * session receives every device's events, so its queue is as long as the messages in flight to
 * it, up to limits.maxInFlightOut, and under a fleet's load those scans were the broker's second
 * largest self frame (`outgoingClearMessageId`, profile of `npm start -- --machines 10000`). Here
 * each queue is kept in insertion order with two indexes, so both are O(1) for the usual case.
 *
 * The store's answers stay exactly as they were, including its first-match order: outgoingUpdate
 * takes the first queued packet that is either the same message (brokerId and brokerCounter:
 * it gets the new packet identifier) or, from another broker, holds the same packet identifier
 * (replaced, as a PUBREL replaces its PUBLISH); outgoingClearMessageId removes and returns the first
 * with that identifier. Queues hold what the store's own enqueue held: an aedes-packet copy.
 */
type QueuedPacket = { brokerId?: string; brokerCounter?: number; messageId?: number } & Record<string, unknown>;

interface Entry {
  seq: number;
  packet: QueuedPacket;
}

/** One session's queue. `seq` only grows, so the smallest seq of a set is the earliest queued. */
export class OutgoingQueue {
  readonly #entries = new Map<number, Entry>();
  readonly #byMessage = new Map<string, Set<Entry>>();
  // Not yet sent is `undefined`, indexed too: the store's scan compared it like any identifier.
  readonly #byId = new Map<number | undefined, Set<Entry>>();
  #nextSeq = 0;

  get length(): number {
    return this.#entries.size;
  }

  enqueue(packet: QueuedPacket): void {
    const entry = { seq: this.#nextSeq++, packet };
    this.#entries.set(entry.seq, entry);
    this.#index(entry);
  }

  /** Resolves the same way the store did; false where it threw 'no such packet'. */
  update(packet: QueuedPacket): boolean {
    const same = first(this.#byMessage.get(messageKey(packet)), () => true);
    const other = first(this.#byId.get(packet.messageId), (e) => e.packet.brokerId !== packet.brokerId);
    const target = same && (!other || same.seq < other.seq) ? same : other;
    if (!target) return false;
    this.#unindex(target);
    if (target === same) target.packet.messageId = packet.messageId;
    else target.packet = packet;
    this.#index(target);
    return true;
  }

  clear(messageId: number | undefined): QueuedPacket | undefined {
    const entry = first(this.#byId.get(messageId), () => true);
    if (!entry) return undefined;
    this.#unindex(entry);
    this.#entries.delete(entry.seq);
    return entry.packet;
  }

  /** The packets in queue order, as a copy: the queue may change while it is read. */
  snapshot(): QueuedPacket[] {
    return Array.from(this.#entries.values(), (e) => e.packet);
  }

  #index(entry: Entry): void {
    add(this.#byMessage, messageKey(entry.packet), entry);
    add(this.#byId, entry.packet.messageId, entry);
  }

  #unindex(entry: Entry): void {
    remove(this.#byMessage, messageKey(entry.packet), entry);
    remove(this.#byId, entry.packet.messageId, entry);
  }
}

const messageKey = (packet: QueuedPacket): string => `${String(packet.brokerId)}\u0000${String(packet.brokerCounter)}`;

function add<K>(index: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  const set = index.get(key);
  if (set) set.add(entry);
  else index.set(key, new Set([entry]));
}

function remove<K>(index: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}

/** The earliest queued entry of the set that passes `test` (sets hold one entry but for rare duplicates). */
function first(set: Set<Entry> | undefined, test: (entry: Entry) => boolean): Entry | undefined {
  let found: Entry | undefined;
  for (const entry of set ?? []) if (test(entry) && (!found || entry.seq < found.seq)) found = entry;
  return found;
}

type PacketCopy = new (original: unknown) => QueuedPacket;

/** A session's queued packets in queue order, as a copy (empty for a session with none). */
export type OutgoingSnapshot = (clientId: string) => QueuedPacket[];

/**
 * Puts the indexed queues in place of the memory store's arrays (before any client: the store's own
 * queues are never read again) and returns how to read a session's queue without a stream; null for
 * any other persistence (Redis keeps its own).
 */
export function indexOutgoingQueues(persistence: unknown): OutgoingSnapshot | null {
  if (typeof persistence !== 'object' || persistence === null) return null;
  const inner: unknown = Reflect.get(persistence, 'asyncPersistence');
  if (typeof inner !== 'object' || inner === null || inner.constructor.name !== 'MemoryPersistence') return null;
  // The copy the store itself makes, from the aedes-packet the store depends on.
  const Packet = createRequire(createRequire(import.meta.url).resolve('aedes-persistence'))('aedes-packet') as PacketCopy;
  const queues = new Map<string, OutgoingQueue>();
  const queueOf = (clientId: string): OutgoingQueue => {
    const queue = queues.get(clientId) ?? new OutgoingQueue();
    queues.set(clientId, queue);
    return queue;
  };
  type Sub = { clientId: string };
  const methods = {
    outgoingEnqueue: async (sub: Sub, packet: unknown) => queueOf(sub.clientId).enqueue(new Packet(packet)),
    outgoingEnqueueCombi: async (subs: readonly Sub[], packet: unknown) => {
      for (const sub of subs) queueOf(sub.clientId).enqueue(new Packet(packet));
    },
    outgoingUpdate: async (client: { id: string }, packet: QueuedPacket) => {
      if (!queueOf(client.id).update(packet)) throw new Error('no such packet');
    },
    outgoingClearMessageId: async (client: { id: string }, packet: QueuedPacket) => {
      const queue = queues.get(client.id);
      const cleared = queue?.clear(packet.messageId);
      // Emptied queues go, so a fleet's sessions leave nothing behind (the store kept empty arrays).
      if (queue?.length === 0) queues.delete(client.id);
      return cleared;
    },
    outgoingStream: (client: { id: string }) => Readable.from(snapshot(client.id)),
  };
  const snapshot: OutgoingSnapshot = (clientId) => queues.get(clientId)?.snapshot() ?? [];
  for (const [name, method] of Object.entries(methods)) Reflect.set(inner, name, method);
  return snapshot;
}
