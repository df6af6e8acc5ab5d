/**
 * Reads many keys with few queries. A key asked for while a load is out waits for the next load,
 * which takes every key queued meanwhile (up to `batchMax`); a key asked for while nothing is out
 * goes at once, so a lone read is never delayed. At fleet scale each device's first event needs its
 * directory entry and consent ledger: 10,000 devices meant 20,000 single-row queries, each costing
 * a query's whole overhead, where a few dozen batches do.
 *
 * Asking again for a key that is queued or being loaded gets the same promise. A failed load rejects every key of it; the next
 * asks again. Nothing is kept after a load answers: caching is the caller's.
 */
export interface BatchLoaderOptions {
  /** Loads out at once; further keys queue for the next. */
  maxInFlight: number;
  /** Keys per load at most. */
  batchMax: number;
}

interface Waiting<V> {
  promise: Promise<V | undefined>;
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

export class BatchLoader<K, V> {
  /** Every key asked for and not yet answered, queued or in a load. */
  readonly #waiting = new Map<K, Waiting<V>>();
  /** Those not yet in a load, in the order they were asked for. */
  readonly #queued = new Set<K>();
  #inFlight = 0;

  constructor(
    private readonly loadMany: (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>,
    private readonly options: BatchLoaderOptions,
  ) {}

  /** Resolves with the key's value, or undefined when the load found none. */
  load(key: K): Promise<V | undefined> {
    const waiting = this.#waiting.get(key);
    if (waiting) return waiting.promise;
    let resolve!: (value: V | undefined) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<V | undefined>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#waiting.set(key, { promise, resolve, reject });
    this.#queued.add(key);
    this.#drain();
    return promise;
  }

  #drain(): void {
    while (this.#inFlight < this.options.maxInFlight && this.#queued.size > 0) {
      const batch: K[] = [];
      for (const key of this.#queued) {
        batch.push(key);
        this.#queued.delete(key);
        if (batch.length >= this.options.batchMax) break;
      }
      this.#inFlight++;
      const settle = (answer: (waiting: Waiting<V>, key: K) => void): void => {
        for (const key of batch) {
          const waiting = this.#waiting.get(key)!;
          this.#waiting.delete(key);
          answer(waiting, key);
        }
        this.#inFlight--;
        this.#drain();
      };
      // Called, not awaited: a loader that throws synchronously rejects its batch like one that rejects.
      Promise.resolve()
        .then(() => this.loadMany(batch))
        .then(
          (found) => settle((waiting, key) => waiting.resolve(found.get(key))),
          (error: unknown) => settle((waiting) => waiting.reject(error)),
        );
    }
  }
}
