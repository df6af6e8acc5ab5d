import type { RegionId } from '../../schema/regions.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { RefusalReason } from './reasons.ts';

/** In-memory counts since start, as the launcher's live line and tests read them. */
export interface ServerStats {
  stored: Record<RegionId, number>;
  refused: Record<RegionId | 'unrouted', number>;
  refusedByReason: Record<string, number>;
  /** Refusals answered and counted but not written to the quarantine (their device was past its hourly cap). */
  quarantineSuppressed: Record<RegionId | 'unrouted', number>;
}

export const UNROUTED = 'unrouted';

/** Counts ingest outcomes once, feeding both the in-memory snapshot and Prometheus. */
export class IngestStats {
  readonly #stored = new Map<string, number>();
  readonly #refused = new Map<string, number>();
  readonly #byReason = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();

  constructor(
    regions: readonly RegionId[],
    private readonly metrics: Metrics,
  ) {
    for (const region of regions) {
      this.#stored.set(region, 0);
      this.#refused.set(region, 0);
    }
    this.#refused.set(UNROUTED, 0);
  }

  stored(region: RegionId, count: number): void {
    if (count === 0) return;
    this.#stored.set(region, (this.#stored.get(region) ?? 0) + count);
    this.metrics.stored.inc({ region }, count);
  }

  refused(region: RegionId | null, reason: RefusalReason): void {
    const key = region ?? UNROUTED;
    this.#refused.set(key, (this.#refused.get(key) ?? 0) + 1);
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    this.metrics.refused.inc({ region: key, reason });
  }

  quarantineSuppressed(region: RegionId | null): void {
    const key = region ?? UNROUTED;
    this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
    this.metrics.quarantineSuppressed.inc({ region: key });
  }

  snapshot(): ServerStats {
    return {
      stored: Object.fromEntries(this.#stored),
      refused: Object.fromEntries(this.#refused),
      refusedByReason: Object.fromEntries(this.#byReason),
      quarantineSuppressed: Object.fromEntries(this.#suppressed),
    };
  }
}
