import { describe, expect, it } from 'vitest';
import { RegionAdmission } from '../../server/ingest/region-admission.ts';

const settled = async <T>(p: Promise<T>): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 20))]);

describe('RegionAdmission', () => {
  it('makes a message wait for room while the region’s store is only behind', async () => {
    const admission = new RegionAdmission(
      2,
      () => false,
      () => undefined,
    );
    expect(await admission.admit('eu')).toBe(true);
    expect(await admission.admit('eu')).toBe(true);
    const third = admission.admit('eu');
    expect(await settled(third)).toBe('pending');
    expect(await admission.admit('us')).toBe(true);
    admission.release('eu');
    expect(await third).toBe(true);
  });

  it('takes a message in at once while there is room, and never beyond the bound', async () => {
    const admission = new RegionAdmission(
      2,
      () => false,
      () => undefined,
    );
    expect(admission.tryEnter('eu')).toBe(true);
    expect(admission.tryEnter('eu')).toBe(true);
    expect(admission.tryEnter('eu')).toBe(false);
    const waiting = admission.admit('eu');
    expect(await settled(waiting)).toBe('pending');
    admission.release('eu');
    expect(await waiting).toBe(true);
    expect(admission.tryEnter('eu')).toBe(false);
  });

  it('turns a failing region’s messages away, wakes its waiters, and asks again once it is half empty', async () => {
    let failing = false;
    const relieved: string[] = [];
    const admission = new RegionAdmission(
      4,
      () => failing,
      (region) => relieved.push(region),
    );
    for (let i = 0; i < 4; i++) await admission.admit('eu');
    const waiting = admission.admit('eu');
    failing = true;
    admission.storeFailed('eu');
    expect(await waiting).toBe(false);
    expect(await admission.admit('eu')).toBe(false);
    expect(await admission.admit('us')).toBe(true);
    failing = false;
    admission.release('eu');
    expect(relieved).toEqual([]);
    admission.release('eu');
    expect(relieved).toEqual(['eu']);
    admission.release('eu');
    expect(relieved).toEqual(['eu']);
  });
});
