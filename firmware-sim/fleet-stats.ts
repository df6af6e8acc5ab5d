import { EVENT_KINDS, type EventKind } from '../schema/events.ts';

export interface FleetStats {
  machines: number;
  connected: number;
  /** Events whose PUBACK arrived. */
  published: number;
  publishedByKind: Record<EventKind, number>;
  /** Events the edge consent check kept on the device. */
  suppressed: number;
  /** Publishes that ended in an error. */
  failed: number;
  /** Publishes still waiting for their PUBACK. */
  pending: number;
  /** Commands received on `cmd/` topics (acknowledged, not yet acted on). */
  commands: number;
}

const zeroByKind = (): Record<EventKind, number> =>
  Object.fromEntries(EVENT_KINDS.map((kind) => [kind, 0])) as Record<EventKind, number>;

/**
 * The fleet's counters. Acknowledgement callbacks only bump numbers; waiters are checked only while
 * someone waits. After `freeze()` late callbacks no longer change anything, so stop() can promise a
 * final count.
 */
export class FleetCounters {
  connected = 0;
  published = 0;
  readonly publishedByKind = zeroByKind();
  suppressed = 0;
  failed = 0;
  pending = 0;
  commands = 0;
  private frozen = false;
  private waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];

  constructor(private readonly machines: number) {}

  sent(): void {
    this.pending++;
  }

  acked(kind: EventKind): void {
    if (this.frozen) return;
    this.pending--;
    this.published++;
    this.publishedByKind[kind]++;
    if (this.waiters.length > 0) this.wake();
  }

  failedOne(): void {
    if (this.frozen) return;
    this.pending--;
    this.failed++;
    if (this.waiters.length > 0) this.wake();
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Resolves true once the condition holds, false when the timeout passes first. */
  until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ready()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  snapshot(): FleetStats {
    return {
      machines: this.machines,
      connected: this.connected,
      published: this.published,
      publishedByKind: { ...this.publishedByKind },
      suppressed: this.suppressed,
      failed: this.failed,
      pending: this.pending,
      commands: this.commands,
    };
  }

  private wake(): void {
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) (waiter.ready() ? waiter.resolve() : still.push(waiter));
    this.waiters = still;
  }
}
