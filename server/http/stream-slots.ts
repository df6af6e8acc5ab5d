import type { HttpStreamLimits } from '../config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Principal } from './auth.ts';
import { HttpError } from './errors.ts';

/**
 * Slots for live streams: a cap per token and one in total. Holders are the principals of configured
 * tokens (one object per token), so the map is bounded by the configuration, not by clients.
 */
export class StreamSlots {
  private readonly held = new Map<Principal, number>();
  private total = 0;

  constructor(
    private readonly limits: HttpStreamLimits,
    private readonly metrics: Metrics,
  ) {}

  /** Takes a slot or throws 429 STREAM_LIMIT_REACHED / 503 STREAM_CAPACITY_REACHED; the release is idempotent. */
  take(holder: Principal): () => void {
    const mine = this.held.get(holder) ?? 0;
    if (mine >= this.limits.perToken) {
      this.metrics.streamsRefused.inc({ limit: 'token' });
      throw new HttpError('STREAM_LIMIT_REACHED', `this token already holds ${this.limits.perToken} live streams; close one first`);
    }
    if (this.total >= this.limits.total) {
      this.metrics.streamsRefused.inc({ limit: 'total' });
      throw new HttpError('STREAM_CAPACITY_REACHED', 'the server serves as many live streams as it can; try again later');
    }
    this.held.set(holder, mine + 1);
    this.total += 1;
    this.metrics.streamsOpen.set(this.total);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left === 0) this.held.delete(holder);
      else this.held.set(holder, left);
      this.total -= 1;
      this.metrics.streamsOpen.set(this.total);
    };
  }
}
