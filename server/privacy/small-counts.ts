import type { BrewStatistic } from '../../schema/transfers.ts';

/**
 * Small-count suppression before aggregates leave a plane. A bucket counting fewer than `minCount`
 * things (brews of one recipe on one day, stored events of one kind) can single out a machine, and
 * with it its owner: three lattes at a café on a Sunday is one owner's business, not a statistic.
 * Such a bucket is dropped, not merged into an "other" bucket: an "other" holding one small bucket
 * is that bucket, and one holding several is often small itself. No totals go with the buckets, so
 * a dropped one cannot be subtracted back out of what is sent.
 */
export interface Suppressed<T> {
  kept: T;
  /** Buckets dropped because they counted fewer than minCount. */
  suppressed: number;
}

/** Brew statistics buckets (recipe and day) of at least `minCount` brews; 1 keeps every bucket. */
export function suppressSmallBrewStatistics(statistics: readonly BrewStatistic[], minCount: number): Suppressed<BrewStatistic[]> {
  const kept = statistics.filter((s) => s.brews >= minCount);
  return { kept, suppressed: statistics.length - kept.length };
}

/** Counts per key (event kind) of at least `minCount`; 1 keeps every count. */
export function suppressSmallCounts(counts: Readonly<Record<string, number>>, minCount: number): Suppressed<Record<string, number>> {
  const entries = Object.entries(counts);
  const kept = Object.fromEntries(entries.filter(([, n]) => n >= minCount));
  return { kept, suppressed: entries.length - Object.keys(kept).length };
}
