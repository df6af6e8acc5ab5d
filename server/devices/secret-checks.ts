/**
 * Bounds the device logins the broker asks about that are checked at once. Each check holds a
 * request and a directory read; a legacy entry also a slow hash on libuv's small thread pool, which
 * the server's file and DNS work share (the route gives those a second, tighter instance). At most
 * `maxConcurrent` checks run at once and `maxQueued` wait; a check beyond that is not started (the
 * route answers 503 AUTH_BUSY and the broker refuses that CONNECT with "server unavailable"), so a
 * login flood costs bounded CPU, memory and pool time instead of an ever longer queue in front of
 * everything else.
 */
export const NO_SLOT = Symbol('no slot');

export class SecretChecks {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(private readonly limits: { maxConcurrent: number; maxQueued: number }) {}

  /** The check's result, or NO_SLOT when it was not run for want of a slot. */
  async run<T>(check: () => Promise<T>): Promise<T | typeof NO_SLOT> {
    if (this.#active >= this.limits.maxConcurrent) {
      if (this.#waiting.length >= this.limits.maxQueued) return NO_SLOT;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await check();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so #active stays the same.
      if (next) next();
      else this.#active--;
    }
  }
}
