import { describe, expect, it } from 'vitest';
import type { BrewStatistic } from '../../schema/transfers.ts';
import { suppressSmallBrewStatistics, suppressSmallCounts } from '../../server/privacy/small-counts.ts';

const stats: BrewStatistic[] = [
  { day: '2026-12-01', recipe: 'espresso', brews: 12 },
  { day: '2026-12-01', recipe: 'latte', brews: 4 },
  { day: '2026-12-01', recipe: 'americano', brews: 5 },
  { day: '2026-12-02', recipe: 'latte', brews: 1 },
];

describe('small-count suppression', () => {
  it('keeps brew statistics buckets of at least minCount brews, in their order, and counts the others', () => {
    expect(suppressSmallBrewStatistics(stats, 5)).toEqual({
      kept: [
        { day: '2026-12-01', recipe: 'espresso', brews: 12 },
        { day: '2026-12-01', recipe: 'americano', brews: 5 },
      ],
      suppressed: 2,
    });
  });

  it('keeps event counts of at least minCount and counts the others', () => {
    expect(suppressSmallCounts({ brew: 40, location: 3, fault: 5, payment: 0 }, 5)).toEqual({ kept: { brew: 40, fault: 5 }, suppressed: 2 });
  });

  it('sends every bucket with 1, and nothing when every bucket is small', () => {
    expect(suppressSmallBrewStatistics(stats, 1)).toEqual({ kept: stats, suppressed: 0 });
    expect(suppressSmallCounts({ brew: 2 }, 1)).toEqual({ kept: { brew: 2 }, suppressed: 0 });
    expect(suppressSmallBrewStatistics(stats, 100)).toEqual({ kept: [], suppressed: 4 });
    expect(suppressSmallCounts({}, 5)).toEqual({ kept: {}, suppressed: 0 });
  });
});
