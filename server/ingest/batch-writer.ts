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

interface Pending<T> {
  item: T;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Group commit for one store: collects items for up to `lingerMs` or `batchMax` items, writes them in
 * one transaction and resolves each item's promise only once that transaction committed. One flush
 * at a time; what arrives meanwhile forms the next batch.
 */
export class BatchWriter<T> {
  readonly #options: BatchWriterOptions<T>;
  readonly #abort = new AbortController();
  #pending: Pending<T>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;

  constructor(options: BatchWriterOptions<T>) {
    this.#options = options;
  }

  get queued(): number {
    return this.#pending.length;
  }

  write(item: T): Promise<void> {
    if (this.#closed) return Promise.reject(new IngestAbortedError());
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#pending.length >= this.#options.batchMax) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), this.#options.lingerMs);
    });
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
    for (const p of this.#pending.splice(0)) p.reject(new IngestAbortedError());
  }

  async #idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#flushing || this.#pending.length === 0 || this.#abort.signal.aborted) return;
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
      // Items may have arrived after the drain loop's last look; they must not wait for a timer that is gone.
      if (this.#pending.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 && !this.#abort.signal.aborted) {
      const batch = this.#pending.splice(0, this.#options.batchMax);
      const items = batch.map((p) => p.item);
      try {
        await retryUntilAborted(async () => {
          const started = performance.now();
          await this.#options.flush(items);
          this.#options.observe?.((performance.now() - started) / 1000, items.length);
        }, { ...this.#options.retry, signal: this.#abort.signal });
        for (const p of batch) p.resolve();
      } catch (err) {
        const reason = err instanceof Error ? err : new Error(String(err));
        for (const p of batch) p.reject(reason);
      }
    }
  }
}
