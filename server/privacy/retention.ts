import { CONSENT_CATEGORY_OF_KIND, EVENT_KINDS, type EventKind } from '../../schema/events.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { PrivacyConfig, RetentionDays } from '../config.ts';
import type { RetentionCut } from '../store/types.ts';

const DAY_MS = 86_400_000;

/** A region's periods: the defaults with that region's overrides. */
export function retentionOf(config: PrivacyConfig, region: RegionId): RetentionDays {
  const overrides = config.regionRetention[region] ?? {};
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...config.retention, ...defined };
}

export interface RetentionCuts {
  /** Per consent category (usage, location, payment, diagnostics): its event kinds and cut-off. */
  events: { category: string; cut: RetentionCut }[];
  quarantineBefore: Date;
}

/** What must be gone at `now` (the sweeper) or, with a grace, what is overdue (the compliance report). */
export function retentionCuts(periods: RetentionDays, now: Date, graceMs = 0): RetentionCuts {
  const before = (days: number): Date => new Date(now.getTime() - days * DAY_MS - graceMs);
  const categories = ['usage', 'location', 'payment', 'diagnostics'] as const;
  return {
    events: categories.map((category) => ({
      category,
      cut: { kinds: EVENT_KINDS.filter((k: EventKind) => CONSENT_CATEGORY_OF_KIND[k] === category), before: before(periods[category]) },
    })),
    quarantineBefore: before(periods.quarantine),
  };
}
