/**
 * At most `maxActive` tasks at once; further ones wait in a queue of at most `maxQueued`, each for
 * at most `maxWaitMs`. A task that finds the queue full, or does not get a slot in time, is never
 * started: the caller gets `BUSY` and can refuse at once, so a flood costs memory for the queue
 * only and work for `maxActive` tasks only.
 */
export const BUSY = Symbol('busy');

export interface ConcurrencyLimit {
  run<T>(task: () => Promise<T>): Promise<T | typeof BUSY>;
  active(): number;
  queued(): number;
}

interface Waiter {
  start(): void;
  timer: NodeJS.Timeout;
}

export function createConcurrencyLimit(settings: { maxActive: number; maxQueued: number; maxWaitMs: number }): ConcurrencyLimit {
  let active = 0;
  // A Set keeps arrival order and lets a waiter that timed out leave from the middle in O(1).
  const waiting = new Set<Waiter>();

  const release = (): void => {
    active--;
    const next = waiting.values().next();
    if (next.done) return;
    waiting.delete(next.value);
    clearTimeout(next.value.timer);
    next.value.start();
  };

  return {
    run<T>(task: () => Promise<T>): Promise<T | typeof BUSY> {
      const start = (): Promise<T> => {
        active++;
        return task().finally(release);
      };
      if (active < settings.maxActive) return start();
      if (waiting.size >= settings.maxQueued) return Promise.resolve(BUSY);
      return new Promise<T | typeof BUSY>((resolve, reject) => {
        const waiter: Waiter = {
          start: () => start().then(resolve, reject),
          timer: setTimeout(() => {
            waiting.delete(waiter);
            resolve(BUSY);
          }, settings.maxWaitMs),
        };
        waiter.timer.unref();
        waiting.add(waiter);
      });
    },
    active: () => active,
    queued: () => waiting.size,
  };
}
