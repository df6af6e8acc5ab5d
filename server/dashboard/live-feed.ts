import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import type { EventRow, RefusalRow } from '../store/types.ts';
import { RateWindow } from './rate-window.ts';

/** A committed row as the feed passes it on: never a refused payload. */
export type FeedNotice = { type: 'stored'; region: RegionId; row: EventRow } | { type: 'refused'; region: RegionId; row: RefusalRow };

export interface RegionTally {
  storedByKind: Record<string, number>;
  refusedByReason: Record<string, number>;
  residencyViolations: number;
  rate: RateWindow;
}

const RATE_WINDOW_SECONDS = 60;

const bump = (counts: Record<string, number>, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

/**
 * What ingest committed, fanned out to the dashboard's live streams and tallied per region. Fed only
 * after a batch's transaction committed, so nothing shown here can later turn out unstored.
 */
export class LiveFeed {
  readonly #listeners = new Set<(notice: FeedNotice) => void>();
  readonly #tallies = new Map<RegionId, RegionTally>();
  readonly since = new Date();

  constructor(
    /** The home region the directory holds for a device, to catch a row committed to the wrong store. */
    private readonly homeRegion: (deviceId: string) => Promise<RegionId | null>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  eventsCommitted(region: RegionId, rows: readonly EventRow[]): void {
    const tally = this.tally(region);
    tally.rate.add(this.now(), 'stored', rows.length);
    for (const row of rows) {
      bump(tally.storedByKind, row.kind);
      this.#emit({ type: 'stored', region, row });
    }
    void this.#checkResidency(region, rows);
  }

  refusalsCommitted(region: RegionId, rows: readonly RefusalRow[]): void {
    const tally = this.tally(region);
    tally.rate.add(this.now(), 'refused', rows.length);
    for (const { receivedAt, reason, deviceId, eventId, kind, explanation } of rows) {
      bump(tally.refusedByReason, reason);
      this.#emit({ type: 'refused', region, row: { receivedAt, reason, deviceId, eventId, kind, explanation: explanation ?? null } });
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (notice: FeedNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  tally(region: RegionId): RegionTally {
    let tally = this.#tallies.get(region);
    if (!tally) {
      tally = { storedByKind: {}, refusedByReason: {}, residencyViolations: 0, rate: new RateWindow(RATE_WINDOW_SECONDS) };
      this.#tallies.set(region, tally);
    }
    return tally;
  }

  #emit(notice: FeedNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (err) {
        this.logger.warn({ err }, 'a live feed listener failed');
      }
    }
  }

  async #checkResidency(region: RegionId, rows: readonly EventRow[]): Promise<void> {
    for (const deviceId of new Set(rows.map((r) => r.deviceId))) {
      try {
        const home = await this.homeRegion(deviceId);
        if (home === region) continue;
        this.tally(region).residencyViolations += rows.filter((r) => r.deviceId === deviceId).length;
        this.logger.error({ region, home, deviceId }, 'residency violation: an event was committed outside its home region');
      } catch (err) {
        this.logger.warn({ err, region }, 'residency check could not read the directory');
      }
    }
  }
}
