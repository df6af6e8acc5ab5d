import { IngestAbortedError, retryUntilAborted, type RetryOptions } from './retry.ts';

export interface BatchWriterOptions<T> {
  batchMax: number;
  lingerMs: number;
  /** Writes one batch in one transaction; rejects to have the same batch retried. */
  flush(items: T[]): Promise<void>;
  retry: Omit<RetryOptions, 'signal'>;
  /** Seconds one successful flush took, for the latency histogram. */
  observe?(seconds: number, size: number): void;
}

/** Items that commit together share one promise: the hot path makes no promise per item. */
interface Batch<T> {
  readonly items: T[];
  readonly committed: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function newBatch<T>(): Batch<T> {
  let resolve: () => void = () => undefined;
  let reject: (err: Error) => void = () => undefined;
  const committed = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { items: [], committed, resolve, reject };
}

/**
 * Group commit for one store: collects items for up to `lingerMs` or `batchMax` items, writes them in
 * one transaction and resolves the batch's promise only once that transaction committed. One flush
 * at a time; what arrives meanwhile forms the next batch.
 */
export class BatchWriter<T> {
  readonly #options: BatchWriterOptions<T>;
  readonly #abort = new AbortController();
  /** Waiting batches, oldest first; only the last one may still take items. */
  #batches: Batch<T>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(options: BatchWriterOptions<T>) {
    this.#options = options;
  }

  write(item: T): Promise<void> {
    if (this.#closed) return Promise.reject(new IngestAbortedError());
    let batch = this.#batches.at(-1);
    if (!batch || batch.items.length >= this.#options.batchMax) this.#batches.push((batch = newBatch<T>()));
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
    let batch: Batch<T> | undefined;
    while (!this.#abort.signal.aborted && (batch = this.#batches.shift())) {
      const { items } = batch;
      try {
        await retryUntilAborted(async () => {
          const started = performance.now();
          await this.#options.flush(items);
          this.#options.observe?.((performance.now() - started) / 1000, items.length);
        }, { ...this.#options.retry, signal: this.#abort.signal });
        batch.resolve();
      } catch (err) {
        batch.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }
}
