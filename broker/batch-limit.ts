import { BUSY } from './concurrency-limit.ts';

/**
 * Like createConcurrencyLimit, but for requests that can carry several items: at most `maxActive`
 * requests at once, each with up to `maxBatch` items (the batchable ones together; any other goes
 * alone). When it sends is what makes the batches, the way Nagle's algorithm makes segments:
 * - with no request in flight, the items of the current turn of the event loop go at its end (one
 *   setImmediate), together: a lone login on a quiet broker waits microseconds, the CONNECTs a
 *   storm's first turn reads share requests from the first one on;
 * - while a request is in flight, new items wait for an answer, and each answer sends what waited
 *   meanwhile; so logins that trickle in during a storm travel together, clocked by the registry's
 *   round trip, instead of one request each (which cost the registry ~1.5 ms of CPU per login
 *   against ~70 µs batched);
 * - a full batch (`maxBatch` waiting) goes at once while a slot is free, so a storm uses the slots
 *   in parallel.
 * At most `maxQueued` items wait beyond one per free slot (as when each free slot took one item at
 * once), each for at most `maxWaitMs`. An item that finds that full, or is not sent in time, is
 * never sent: its caller gets `BUSY`.
 */
export interface BatchLimit<I, R> {
  run(item: I): Promise<R | typeof BUSY>;
  /** Requests in flight. */
  active(): number;
  /** Items waiting for a request (for a slot, or for the end of the turn that gathers them). */
  queued(): number;
}

export interface BatchLimitSettings {
  maxActive: number;
  maxQueued: number;
  maxWaitMs: number;
  maxBatch: number;
}

/** Sends the items in one request (several only if all are batchable); one answer per item, in order. */
export type SendBatch<I, R> = (items: I[]) => Promise<R[]>;

interface Waiting<I, R> {
  item: I;
  /** performance.now() after which the item is answered BUSY instead of sent. */
  deadline: number;
  resolve(answer: R | typeof BUSY): void;
  reject(error: unknown): void;
}

export function createBatchLimit<I, R>(settings: BatchLimitSettings, batchable: (item: I) => boolean, send: SendBatch<I, R>): BatchLimit<I, R> {
  let active = 0;
  // A Set keeps arrival order, which is also deadline order (every item waits as long), and lets an
  // item leave from the middle in O(1) when another kind of item went first.
  const waiting = new Set<Waiting<I, R>>();
  let gathering = false;
  // One timer for the whole queue, at the oldest item's deadline, instead of one per login.
  let expiry: NodeJS.Timeout | null = null;

  const dispatch = (batch: Waiting<I, R>[]): void => {
    active++;
    let answers: Promise<R[]>;
    try {
      answers = send(batch.map((w) => w.item));
    } catch (error) {
      answers = Promise.reject(error);
    }
    answers
      .then(
        (results) => {
          for (const [i, w] of batch.entries()) w.resolve(results[i]!);
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      )
      .finally(release);
  };

  /** The oldest waiting item and, if it is batchable, the batchable ones after it, up to maxBatch. */
  const takeBatch = (): Waiting<I, R>[] => {
    const first = waiting.values().next().value!;
    const together = batchable(first.item);
    const batch: Waiting<I, R>[] = [];
    for (const w of waiting) {
      if (batch.length > 0 && !(together && batchable(w.item))) continue;
      waiting.delete(w);
      batch.push(w);
      if (!together || batch.length >= settings.maxBatch) break;
    }
    return batch;
  };

  /** Sends a batch while a slot is free and either nothing is in flight or a full batch waits. */
  const fillSlots = (): void => {
    expire();
    while (active < settings.maxActive && waiting.size > 0 && (active === 0 || waiting.size >= settings.maxBatch)) dispatch(takeBatch());
  };

  // The answer's slot takes what waited meanwhile, whatever its size: that is the clock.
  const release = (): void => {
    active--;
    expire();
    if (waiting.size > 0) dispatch(takeBatch());
    fillSlots();
  };

  const endOfTurn = (): void => {
    gathering = false;
    fillSlots();
  };

  /** Answers BUSY to the items whose wait is over (they are at the front), and re-arms the timer for the next. */
  function expire(): void {
    const now = performance.now();
    for (const w of waiting) {
      if (w.deadline > now) break;
      waiting.delete(w);
      w.resolve(BUSY);
    }
    if (expiry !== null) clearTimeout(expiry);
    expiry = null;
    const next = waiting.values().next();
    if (!next.done) {
      expiry = setTimeout(expire, Math.max(1, Math.ceil(next.value.deadline - now)));
      expiry.unref();
    }
  }

  return {
    run(item) {
      return new Promise<R | typeof BUSY>((resolve, reject) => {
        const free = settings.maxActive - active;
        if (waiting.size >= settings.maxQueued + free) {
          resolve(BUSY);
          return;
        }
        waiting.add({ item, deadline: performance.now() + settings.maxWaitMs, resolve, reject });
        if (free > 0 && !gathering) {
          gathering = true;
          setImmediate(endOfTurn);
        }
        if (expiry === null) expire();
      });
    },
    active: () => active,
    queued: () => waiting.size,
  };
}
