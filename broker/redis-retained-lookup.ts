import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';

/**
 * Retained messages for a SUBSCRIBE in cluster mode, at a cost set by the subscription, not by how
 * many retained messages the cluster holds. aedes-persistence-redis 12 answers every filter with a
 * wildcard by `HSCAN retained MATCH prefix*`, which walks the whole hash a few entries per call: the
 * server keeps a retained consent record per provisioned device, so each device's
 * `coffee/v1/{id}/cmd/#` cost thousands of Redis round trips at 100,000 devices (9.2 million HSCAN
 * calls for about 5,400 logins, docs/benchmarks.md), and logins stalled as the fleet grew.
 *
 * Design, and why:
 * - The library's storage stays as it is (the `retained` hash, field = topic, value = its msgpack
 *   packet): nodes, tools and an existing Redis keep reading and writing the same keys. Next to it a
 *   sorted set, `retained-topics` (the same ioredis key prefix), holds every retained topic name,
 *   all at score 0, so Redis orders them by bytes and `ZRANGEBYLEX` reads exactly the topics under a
 *   literal prefix. A sorted set, not a Redis key per device prefix, because a filter's literal
 *   part can end at any level and one ordered set answers all of them.
 * - A filter without wildcards is one `HMGET` of its topic. A filter whose first level is literal
 *   (`coffee/v1/{id}/cmd/#`, `a/b/+/d`) reads the index under its literal levels, pages of 500,
 *   matches the remaining levels here by MQTT's rules, then `HMGET`s the hits: a device's own filter
 *   costs two or three round trips whatever the fleet. A filter starting with a wildcard (`#`,
 *   `+/…`) can match any topic, so an index saves nothing there: the library's scan answers it,
 *   and its results are filtered here for MQTT's `$` rule, which the library does not apply.
 * - Values are decoded with the library's own msgpack-lite (resolved from the library's location,
 *   not a dependency of ours), so a packet from here has exactly the shape the library would give.
 * - Each retained topic is sent once per SUBSCRIBE even if several of its filters match it.
 *
 * Keeping index and hash consistent across nodes without a transaction around the library's write
 * (it issues its HSET/HDEL itself, so it cannot join a MULTI of ours): a store writes the hash first
 * (the library), then `ZADD`s the topic; a delete (empty payload) lets the library `HDEL`, then
 * removes the topic from the index by a script that does so only if the hash has no such field,
 * atomically in Redis. Whatever two nodes interleave, a topic left in the hash was last written by
 * an HSET whose ZADD came after it, and every later conditional removal saw the field and kept it;
 * so the index never ends up missing a retained message. It can end up holding a topic with no
 * message (a store's ZADD after another node's delete, a crash between the two steps): such a name
 * costs one empty HMGET slot, and is removed by the same conditional script when a lookup meets it.
 * A subscription served between a store's HSET and its ZADD may miss that message, as it could
 * miss one published a moment later: the store is concurrent with it.
 *
 * Topics stored before the index existed (an existing Redis, a node crashed between HSET and ZADD,
 * a node still running the plain library during a rolling upgrade) are found by a repair when each
 * node starts, inside aedes' awaited `setup`, so before it takes a client: one HSCAN of the hash
 * (1,000 fields a step) adding every topic, then one pass over the index dropping names whose
 * message is gone (the conditional script again, so it is safe beside nodes that are storing).
 * Only the single-Redis layout is handled (`conn`, as broker/cluster.ts builds it); the library's
 * Redis Cluster layout (`retained:{topic}` keys) is not used by this project.
 */
export const RETAINED_HASH = 'retained';
export const TOPIC_INDEX = 'retained-topics';
const PAGE = 500;
const REPAIR_STEP = 1_000;

/** Removes each named topic from the index unless the retained hash holds it, atomically; returns how many. */
const FORGET_ABSENT = `local n = 0
for _, topic in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[1], topic) == 0 then n = n + redis.call('ZREM', KEYS[2], topic) end
end
return n`;

const libraryRequire = createRequire(createRequire(import.meta.url).resolve('aedes-persistence-redis'));
const msgpack = libraryRequire('msgpack-lite') as { decode(buffer: Buffer): unknown };

interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

/**
 * Whether `topic` matches `filter`: `+` one level, `#` this level and every one below, including
 * the parent itself (`a/#` matches `a`) [MQTT-4.7.1-2]; a filter starting with a wildcard never
 * matches a topic starting with `$` [MQTT-4.7.2-1].
 */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Where a filter's topics are: one exact topic and/or the index range under a literal prefix; null: anywhere. */
interface Plan {
  exact: string | null;
  under: string | null;
}

export function planFor(filter: string): Plan | null {
  const levels = filter.split('/');
  const first = levels.findIndex((level) => level === '+' || level === '#');
  if (first === -1) return { exact: filter, under: null };
  if (first === 0) return null;
  const literal = levels.slice(0, first).join('/');
  // `a/b/#` also matches `a/b` [MQTT-4.7.1-2], which sorts outside the `a/b/` range.
  return { exact: levels[first] === '#' ? literal : null, under: `${literal}/` };
}

type Done = (error?: Error | null) => void;
type Method = (...args: unknown[]) => unknown;

function method(target: object, name: string): Method {
  const value: unknown = Reflect.get(target, name);
  if (typeof value !== 'function') throw new Error(`aedes persistence has no ${name}`);
  return value as Method;
}

/**
 * Puts the index in front of an aedes-persistence-redis 12 instance (its callback wrapper, as the
 * library's factory returns it) whose connection is `redis`, and returns it.
 */
export function lookUpRetainedByIndex<P extends object>(persistence: P, redis: Redis): P {
  const setup = method(persistence, 'setup');
  const storeRetained = method(persistence, 'storeRetained');
  const libraryStreamCombi = method(persistence, 'createRetainedStreamCombi');

  const forgetAbsent = async (topics: readonly string[]): Promise<void> => {
    if (topics.length > 0) await redis.eval(FORGET_ABSENT, 2, RETAINED_HASH, TOPIC_INDEX, ...topics);
  };

  async function store(packet: RetainedPacket): Promise<void> {
    // Hash first, index second; removal only where the hash has nothing (see above).
    await storeRetained.call(persistence, packet);
    if (packet.payload.length === 0) await forgetAbsent([packet.topic]);
    else await redis.zadd(TOPIC_INDEX, 0, packet.topic);
  }

  async function* indexRange(prefix: string): AsyncGenerator<string[]> {
    // Every UTF-8 topic under the prefix sorts below prefix + 0xFF (no UTF-8 byte is 0xFF).
    const max = Buffer.concat([Buffer.from(`[${prefix}`, 'utf8'), Buffer.from([0xff])]);
    let min = `[${prefix}`;
    for (;;) {
      const page = await redis.zrangebylex(TOPIC_INDEX, min, max, 'LIMIT', 0, PAGE);
      if (page.length > 0) yield page;
      if (page.length < PAGE) return;
      min = `(${page.at(-1)!}`;
    }
  }

  async function* candidates(plan: Plan): AsyncGenerator<string[]> {
    if (plan.exact !== null) yield [plan.exact];
    if (plan.under !== null) yield* indexRange(plan.under);
  }

  async function* lookup(filters: readonly string[]): AsyncGenerator<unknown> {
    const sent = new Set<string>();
    const anywhere: string[] = [];
    for (const filter of filters) {
      const plan = planFor(filter);
      if (plan === null) {
        anywhere.push(filter);
        continue;
      }
      for await (const topics of candidates(plan)) {
        const wanted = topics.filter((topic) => !sent.has(topic) && filterMatches(filter, topic));
        if (wanted.length === 0) continue;
        const values = await redis.hmgetBuffer(RETAINED_HASH, ...wanted);
        const gone: string[] = [];
        for (let i = 0; i < wanted.length; i++) {
          const value = values[i];
          if (value === null || value === undefined) {
            // An exact filter's topic need not be retained; an index entry without a message is stale.
            if (plan.exact !== wanted[i]) gone.push(wanted[i]!);
            continue;
          }
          sent.add(wanted[i]!);
          yield msgpack.decode(value);
        }
        await forgetAbsent(gone);
      }
    }
    if (anywhere.length === 0) return;
    const scanned = libraryStreamCombi.call(persistence, anywhere) as AsyncIterable<RetainedPacket>;
    for await (const packet of scanned) {
      if (sent.has(packet.topic) || !anywhere.some((filter) => filterMatches(filter, packet.topic))) continue;
      sent.add(packet.topic);
      yield packet;
    }
  }

  async function repair(): Promise<void> {
    for await (const pairs of redis.hscanBufferStream(RETAINED_HASH, { count: REPAIR_STEP }) as AsyncIterable<Buffer[]>) {
      const members: (number | Buffer)[] = [];
      for (let i = 0; i < pairs.length; i += 2) members.push(0, pairs[i]!);
      if (members.length > 0) await redis.zadd(TOPIC_INDEX, 'NX', ...members);
    }
    for await (const pairs of redis.zscanStream(TOPIC_INDEX, { count: REPAIR_STEP }) as AsyncIterable<string[]>) {
      const topics = pairs.filter((_, i) => i % 2 === 0);
      await forgetAbsent(topics);
    }
  }

  // aedes 2 requires setup to be an async function (it checks the constructor's name).
  Reflect.set(persistence, 'setup', async (broker: unknown): Promise<void> => {
    await setup.call(persistence, broker);
    await repair();
  });
  // Both calling conventions of the library's callback wrapper: aedes uses the promise one.
  Reflect.set(persistence, 'storeRetained', (packet: RetainedPacket, done?: Done): Promise<void> | undefined => {
    const stored = store(packet);
    if (!done) return stored;
    stored.then(() => done(null), done);
    return undefined;
  });
  Reflect.set(persistence, 'createRetainedStreamCombi', (filters: readonly string[]) => Readable.from(lookup(filters)));
  Reflect.set(persistence, 'createRetainedStream', (filter: string) => Readable.from(lookup([filter])));
  return persistence;
}
