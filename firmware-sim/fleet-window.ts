/**
 * Events sent and not yet acknowledged, counted over every machine of one fleet process, at most
 * `size` of them. Each machine has its own window too (device-connection-options.ts), but ten
 * thousand windows of five are 50,000 events in flight once the stack behind the broker is the
 * slower side: each held as objects by the machine until its PUBACK, and by the broker and ingest
 * until its row is committed, for the whole time it queues. Those objects outlive the young
 * generation, so the broker's process grows by the old-generation garbage they leave (docs/benchmarks.md,
 * "npm start with a fleet-wide in-flight bound"). Beyond the bound events wait encoded in their
 * machine's buffer, which is bounded and counted (offline-buffer.ts, backlogMax).
 *
 * Only a connected machine holds permits: one whose link drops gives its permits back, so machines
 * cut off (a region down, a power cycle) never starve the rest of the fleet; when it connects again,
 * the client resends what was unacknowledged and the machine takes permits for those at once,
 * past the bound if need be (they are already on the wire), which only delays the next sends.
 */
export class FleetWindow {
  #free: number;
  /** Machines with events waiting for room, oldest first; each at most once. */
  readonly #waiting = new Set<WindowWaiter>();

  constructor(readonly size: number) {
    this.#free = size;
  }

  /** Permits not taken; below zero after machines took back more than were free (see above). */
  get free(): number {
    return this.#free;
  }

  tryTake(): boolean {
    if (this.#free <= 0) return false;
    this.#free--;
    return true;
  }

  /** For messages a reconnecting client resends on its own: they are in flight whatever the bound says. */
  takeAnyway(count: number): void {
    this.#free -= count;
  }

  /** `waiter.resume()` runs once there is room; a waiter already queued keeps its place. */
  waitForRoom(waiter: WindowWaiter): void {
    this.#waiting.add(waiter);
  }

  /**
   * Gives `count` permits back and wakes waiting machines, oldest first, while any are free: a
   * woken machine that has gone offline or has nothing left to send takes none, and the next one
   * gets them.
   */
  release(count: number): void {
    this.#free += count;
    while (this.#free > 0 && this.#waiting.size > 0) {
      const next = this.#waiting.values().next().value as WindowWaiter;
      this.#waiting.delete(next);
      next.resume();
    }
  }
}

/**
 * The permits one machine holds: one per event in flight while it is connected, none otherwise
 * (see above). Without a window (a machine on its own) every take succeeds.
 */
export class WindowShare {
  #held = 0;

  constructor(
    private readonly window: FleetWindow | undefined,
    private readonly waiter: WindowWaiter,
  ) {}

  /** A permit for one more event, or false with the machine queued for the next free one. */
  take(): boolean {
    if (this.window === undefined) return true;
    if (!this.window.tryTake()) {
      this.window.waitForRoom(this.waiter);
      return false;
    }
    this.#held++;
    return true;
  }

  /** One of the machine's events was acknowledged. */
  returnOne(): void {
    if (this.#held === 0) return;
    this.#held--;
    this.window?.release(1);
  }

  /** The machine's link dropped: its events in flight wait for a connection, not for the fleet's room. */
  returnAll(): void {
    if (this.#held === 0) return;
    const held = this.#held;
    this.#held = 0;
    this.window?.release(held);
  }

  /** Connected again, with `inFlight` events the client resends on its own. */
  retake(inFlight: number): void {
    if (this.window === undefined || this.#held >= inFlight) return;
    this.window.takeAnyway(inFlight - this.#held);
    this.#held = inFlight;
  }
}

export interface WindowWaiter {
  /** Sends what the window allows now, and waits again (waitForRoom) if events are left over. */
  resume(): void;
}

/**
 * 2,000: over loopback the broker and the three regions' group commits keep their batches full
 * with that many in flight, and an event then waits a fraction of a second between its PUBLISH and
 * its PUBACK instead of tens of seconds behind a full fleet's windows (docs/benchmarks.md).
 */
export const DEFAULT_FLEET_IN_FLIGHT = 2_000;
