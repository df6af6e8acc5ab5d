import { IngestAbortedError, retryUntilAborted, type RetryOptions } from './retry.ts';

/** Why an item of a batch was not stored although its batch committed. */
export type StoreRejected = 'store_rejected';

export interface BatchWriterOptions<T, R extends string = never> {
  batchMax: number;
  lingerMs: number;
  /**
   * Writes one batch in one transaction; rejects to have the same batch retried (or, when
   * `isRejection` says the data is at fault, split). Resolves with the items the store declined by
   * itself (with a reason), when there are any; every other item committed.
   */
  flush(items: T[]): Promise<ReadonlyMap<T, R> | void>;
  /** Whether a flush error is the data's fault, which retrying cannot cure (see store-errors.ts). */
  isRejection?(err: unknown): boolean;
  /** Told of each item isolated as the cause of such an error (it is declined as `store_rejected`). */
  onRejected?(item: T, err: unknown): void;
  retry: Omit<RetryOptions, 'signal' | 'isFinal'>;
  /** Seconds one successful flush took, for the latency histogram. */
  observe?(seconds: number, size: number): void;
}

/** What became of one batch: items not in `declined` committed. */
export interface BatchOutcome<T, R extends string> {
  readonly declined: ReadonlyMap<T, R | StoreRejected>;
}

/** Items that commit together share one promise: the hot path makes no promise per item. */
interface Batch<T, R extends string> {
  readonly items: T[];
  readonly committed: Promise<BatchOutcome<T, R>>;
  resolve(outcome: BatchOutcome<T, R>): void;
  reject(err: Error): void;
}

function newBatch<T, R extends string>(): Batch<T, R> {
  let resolve: (outcome: BatchOutcome<T, R>) => void = () => undefined;
  let reject: (err: Error) => void = () => undefined;
  const committed = new Promise<BatchOutcome<T, R>>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { items: [], committed, resolve, reject };
}

/**
 * Group commit for one store: collects items for up to `lingerMs` or `batchMax` items, writes them in
 * one transaction and resolves the batch's promise only once that transaction committed. One flush
 * at a time; what arrives meanwhile forms the next batch.
 *
 * A batch that fails for a reason retrying cannot cure is split in halves, each written (and retried)
 * on its own, down to the single rows at fault: those are declined as `store_rejected`, the rest
 * commit, and the store keeps taking the batches behind it. k bad rows in a batch of n cost about
 * 2k·log2(n) extra writes, and only when such a row turns up.
 */
export class BatchWriter<T, R extends string = never> {
  readonly #options: BatchWriterOptions<T, R>;
  readonly #abort = new AbortController();
  /** Waiting batches, oldest first; only the last one may still take items. */
  #batches: Batch<T, R>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(options: BatchWriterOptions<T, R>) {
    this.#options = options;
  }

  /** Resolves once the item's batch committed, with what became of the batch's items (see `declined`). */
  write(item: T): Promise<BatchOutcome<T, R>> {
    if (this.#closed) return Promise.reject(new IngestAbortedError());
    let batch = this.#batches.at(-1);
    if (!batch || batch.items.length >= this.#options.batchMax) {
      batch = newBatch<T, R>();
      this.#batches.push(batch);
    }
    batch.items.push(item);
    if (batch.items.length >= this.#options.batchMax) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#options.lingerMs);
    return batch.committed;
  }

  /** Commits what is queued; after `drainTimeoutMs` gives up, leaving those items' messages unacknowledged. */
  async close(drainTimeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#kick();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainTimeoutMs);
    });
    await Promise.race([this.#idle(), deadline]);
    clearTimeout(timer);
    this.#abort.abort();
    await this.#flushing;
    for (const batch of this.#batches.splice(0)) batch.reject(new IngestAbortedError());
  }

  async #idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing || this.#batches.length === 0 || this.#abort.signal.aborted) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
      // Items may have arrived after the drain loop's last look; they must not wait for a timer that is gone.
      if (this.#batches.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      const batch = this.#batches.shift();
      if (!batch) break;
      const declined = new Map<T, R | StoreRejected>();
      try {
        await this.#commit(batch.items, declined);
        batch.resolve({ declined });
      } catch (err) {
        batch.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  /** Writes `items` (retrying what may pass later); a rejected part is halved until the bad rows stand alone. */
  async #commit(items: T[], declined: Map<T, R | StoreRejected>): Promise<void> {
    const { isRejection } = this.#options;
    try {
      const byStore = await retryUntilAborted(
        async () => {
          const started = performance.now();
          const answer = await this.#options.flush(items);
          this.#options.observe?.((performance.now() - started) / 1000, items.length);
          return answer;
        },
        { ...this.#options.retry, signal: this.#abort.signal, ...(isRejection ? { isFinal: isRejection } : {}) },
      );
      for (const [item, reason] of byStore ?? []) declined.set(item, reason);
    } catch (err) {
      if (err instanceof IngestAbortedError || !isRejection?.(err)) throw err;
      if (items.length === 1) {
        declined.set(items[0]!, 'store_rejected');
        this.#options.onRejected?.(items[0]!, err);
        return;
      }
      const half = Math.ceil(items.length / 2);
      await this.#commit(items.slice(0, half), declined);
      await this.#commit(items.slice(half), declined);
    }
  }
}
