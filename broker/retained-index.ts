import { Readable } from 'node:stream';

/**
 * Retained messages by topic level, for aedes' in-memory persistence. aedes-persistence 11 answers
 * every SUBSCRIBE by testing each of its filters against every retained topic
 * (`retainedMessagesByPattern`), so a fleet where each device holds a retained state and a retained
 * consent record costs O(devices) per subscription and O(devices²) for a fleet coming online: at
 * 10,000 devices, 20,000 retained topics tested for each of 20,000 subscriptions, minutes of CPU in
 * a reconnect storm (the top frames of the broker's profile, Qlobber._split_words and
 * Qlobber._test under retainedMessagesByPattern). Here the retained messages live in a tree of topic
 * levels instead, and a filter walks only the branches it can match: a device's own
 * `coffee/v1/{id}/consent` and `coffee/v1/{id}/cmd/#` cost a few map lookups whatever the fleet.
 *
 * Applied only to the memory persistence (cluster mode keeps retained messages in Redis). Its own
 * retained map is left unused: storeRetained and the two retained streams are all that read or write
 * it. Matching follows MQTT: `+` one level, `#` this level and everything below [MQTT-4.7.1-2], and
 * no wildcard in the first level matches a topic starting with `$` [MQTT-4.7.2-1].
 */
interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

interface Level {
  children: Map<string, Level>;
  packet: RetainedPacket | null;
}

const newLevel = (): Level => ({ children: new Map(), packet: null });

export interface RetainedIndex {
  store(packet: RetainedPacket): void;
  matching(filter: string): Generator<RetainedPacket>;
  readonly size: number;
}

export function createRetainedIndex(): RetainedIndex {
  const root = newLevel();
  let size = 0;

  function remove(levels: readonly string[]): void {
    const path: Level[] = [root];
    for (const name of levels) {
      const child = path.at(-1)!.children.get(name);
      if (!child) return;
      path.push(child);
    }
    if (path.at(-1)!.packet === null) return;
    path.at(-1)!.packet = null;
    size--;
    // Levels left holding nothing are dropped, so the tree never outgrows what is retained.
    for (let i = levels.length; i > 0; i--) {
      const level = path[i]!;
      if (level.packet !== null || level.children.size > 0) return;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  function* everything(level: Level): Generator<RetainedPacket> {
    if (level.packet) yield level.packet;
    for (const child of level.children.values()) yield* everything(child);
  }

  function* walk(level: Level, filter: readonly string[], depth: number): Generator<RetainedPacket> {
    if (depth === filter.length) {
      if (level.packet) yield level.packet;
      return;
    }
    const name = filter[depth]!;
    const wildcardAtRoot = depth === 0 && (name === '#' || name === '+');
    if (name === '#') {
      // `a/#` also matches `a` itself [MQTT-4.7.1-2].
      if (level.packet && depth > 0) yield level.packet;
      for (const [childName, child] of level.children) {
        if (wildcardAtRoot && childName.startsWith('$')) continue;
        yield* everything(child);
      }
      return;
    }
    if (name === '+') {
      for (const [childName, child] of level.children) {
        if (wildcardAtRoot && childName.startsWith('$')) continue;
        yield* walk(child, filter, depth + 1);
      }
      return;
    }
    const child = level.children.get(name);
    if (child) yield* walk(child, filter, depth + 1);
  }

  return {
    store(packet) {
      const levels = packet.topic.split('/');
      if (packet.payload.length === 0) return remove(levels);
      let level = root;
      for (const name of levels) {
        let child = level.children.get(name);
        if (!child) {
          child = newLevel();
          level.children.set(name, child);
        }
        level = child;
      }
      if (level.packet === null) size++;
      // A copy, as the persistence keeps one: the packet aedes hands over is reused after this.
      level.packet = { ...packet };
    },
    matching: (filter) => walk(root, filter.split('/'), 0),
    get size() {
      return size;
    },
  };
}

type Done = (error?: Error | null) => void;

/** Puts the index in front of aedes' memory persistence; returns it, or null for any other persistence. */
export function indexRetainedMessages(persistence: unknown): RetainedIndex | null {
  if (typeof persistence !== 'object' || persistence === null) return null;
  const inner: unknown = Reflect.get(persistence, 'asyncPersistence');
  const name: unknown = typeof inner === 'object' && inner !== null ? inner.constructor.name : undefined;
  if (name !== 'MemoryPersistence') return null;
  const index = createRetainedIndex();
  function* combined(filters: readonly string[]): Generator<RetainedPacket> {
    for (const filter of filters) yield* index.matching(filter);
  }
  // Both calling conventions of the persistence's callback wrapper: aedes uses the promise one.
  Reflect.set(persistence, 'storeRetained', (packet: RetainedPacket, done?: Done): Promise<void> | undefined => {
    index.store(packet);
    if (done) return void setImmediate(done, null);
    return Promise.resolve();
  });
  Reflect.set(persistence, 'createRetainedStream', (filter: string) => Readable.from(index.matching(filter)));
  Reflect.set(persistence, 'createRetainedStreamCombi', (filters: readonly string[]) => Readable.from(combined(filters)));
  return index;
}
