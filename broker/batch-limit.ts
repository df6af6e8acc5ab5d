import { BUSY } from './concurrency-limit.ts';

/**
 * Like createConcurrencyLimit, but for requests that can carry several items: at most `maxActive`
 * requests at once; an item that finds a request slot free is sent at once, alone (no added latency
 * when the registry keeps up); items that arrive while every slot is taken wait, at most `maxQueued`
 * of them, each for at most `maxWaitMs`, and a slot that frees takes up to `maxBatch` waiting items
 * (the batchable ones together; any other goes alone) in one request. So a login storm costs one request per up-to-`maxBatch` logins instead
 * of one per login, while a quiet broker behaves exactly as before. An item that finds the queue full,
 * or does not get a slot in time, is never sent: its caller gets `BUSY`.
 */
export interface BatchLimit<I, R> {
  run(item: I): Promise<R | typeof BUSY>;
  /** Requests in flight. */
  active(): number;
  /** Items waiting for a request slot. */
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
  resolve(answer: R | typeof BUSY): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
}

export function createBatchLimit<I, R>(settings: BatchLimitSettings, batchable: (item: I) => boolean, send: SendBatch<I, R>): BatchLimit<I, R> {
  let active = 0;
  // A Set keeps arrival order and lets an item that timed out leave from the middle in O(1).
  const waiting = new Set<Waiting<I, R>>();

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

  const release = (): void => {
    active--;
    const first = waiting.values().next();
    if (first.done) return;
    const together = batchable(first.value.item);
    const batch: Waiting<I, R>[] = [];
    for (const w of waiting) {
      if (batch.length > 0 && !(together && batchable(w.item))) continue;
      waiting.delete(w);
      clearTimeout(w.timer);
      batch.push(w);
      if (!together || batch.length >= settings.maxBatch) break;
    }
    dispatch(batch);
  };

  return {
    run(item) {
      return new Promise<R | typeof BUSY>((resolve, reject) => {
        if (active < settings.maxActive) {
          dispatch([{ item, resolve, reject }]);
          return;
        }
        if (waiting.size >= settings.maxQueued) {
          resolve(BUSY);
          return;
        }
        const entry: Waiting<I, R> = { item, resolve, reject };
        entry.timer = setTimeout(() => {
          waiting.delete(entry);
          resolve(BUSY);
        }, settings.maxWaitMs).unref();
        waiting.add(entry);
      });
    },
    active: () => active,
    queued: () => waiting.size,
  };
}
