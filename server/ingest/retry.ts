/** Thrown when ingest is closing and a message's work is abandoned: its message is left unacknowledged. */
export class IngestAbortedError extends Error {
  override readonly name: string = 'IngestAbortedError';
  constructor() {
    super('ingest is closing; the message stays unacknowledged and will be redelivered');
  }
}

/** A message its region cannot take now (its backlog is full): left unacknowledged, asked for again later. */
export class IngestDeferredError extends IngestAbortedError {
  override readonly name = 'IngestDeferredError';
}

export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  signal: AbortSignal;
  onError(err: unknown, attempt: number): void;
  /** An error retrying cannot cure (the data is at fault): rethrown at once instead of retried. */
  isFinal?(err: unknown): boolean;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Store calls on the ingest path never give up on their own: a store that is down makes its messages
 * wait (unacknowledged) and retry with exponential backoff, until it answers or ingest closes. Only
 * an error `isFinal` calls incurable goes back to the caller.
 */
export async function retryUntilAborted<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) throw new IngestAbortedError();
    try {
      return await fn();
    } catch (err) {
      if (options.signal.aborted) throw new IngestAbortedError();
      if (options.isFinal?.(err)) throw err;
      options.onError(err, attempt);
      await sleep(Math.min(options.maxMs, options.initialMs * 2 ** (attempt - 1)), options.signal);
    }
  }
}
