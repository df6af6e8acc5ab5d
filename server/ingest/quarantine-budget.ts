const HOUR_MS = 3_600_000;

/** The bucket shared by devices beyond the tracked count (and by refusals that name no device). */
const OVERFLOW = '\u0000overflow';

/**
 * How many quarantine rows each device may still cause in the current clock hour. One device that
 * floods malformed messages must not fill its region's store with quarantine rows: past the cap its
 * refusals are still answered and counted, but no longer written.
 *
 * Memory is bounded: the counts are for the current hour only (dropped when the hour turns) and for
 * at most `trackedDevices` devices; devices beyond that share one bucket with the same cap, so a
 * flood of made-up sender ids cannot grow the map.
 */
export class QuarantineBudget {
  #hour = -1;
  readonly #used = new Map<string, number>();

  constructor(
    private readonly perDeviceHour: number,
    private readonly trackedDevices: number,
  ) {}

  /** True when a quarantine row may be written for this device now (and counts it). */
  take(deviceId: string | null, nowMs: number): boolean {
    const hour = Math.floor(nowMs / HOUR_MS);
    if (hour !== this.#hour) {
      this.#hour = hour;
      this.#used.clear();
    }
    let key = deviceId ?? OVERFLOW;
    if (!this.#used.has(key) && this.#used.size >= this.trackedDevices) key = OVERFLOW;
    const used = this.#used.get(key) ?? 0;
    if (used >= this.perDeviceHour) return false;
    this.#used.set(key, used + 1);
    return true;
  }

  /** Devices counted this hour (for tests: it never exceeds trackedDevices + 1). */
  get tracked(): number {
    return this.#used.size;
  }
}
