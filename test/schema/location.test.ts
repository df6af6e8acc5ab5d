import { describe, expect, it } from 'vitest';
import { isCoarse, limitLocation, COARSE_MIN_ACCURACY_M } from '../../schema/location.ts';

const exact = { precision: 'exact' as const, lat: 48.856613, lon: 2.352222, accuracyM: 12 };

describe('location precision', () => {
  it('keeps nothing without location consent', () => {
    expect(limitLocation(exact, 'none')).toBeNull();
  });

  it('keeps an exact fix when exact is allowed', () => {
    expect(limitLocation(exact, 'exact')).toEqual(exact);
  });

  it('coarsens to the 0.1 degree grid and a city-level accuracy', () => {
    const coarse = limitLocation(exact, 'coarse');
    expect(coarse).toEqual({ precision: 'coarse', lat: 48.9, lon: 2.4, accuracyM: COARSE_MIN_ACCURACY_M });
    expect(coarse && isCoarse(coarse)).toBe(true);
  });

  it('is idempotent', () => {
    const once = limitLocation(exact, 'coarse');
    expect(once && limitLocation(once, 'coarse')).toEqual(once);
  });

  it('does not trust a body that only claims to be coarse', () => {
    const claimed = { ...exact, precision: 'coarse' as const };
    expect(limitLocation(claimed, 'coarse')).toEqual({ precision: 'coarse', lat: 48.9, lon: 2.4, accuracyM: COARSE_MIN_ACCURACY_M });
  });

  it('handles the southern and western hemispheres', () => {
    const sydney = { precision: 'exact' as const, lat: -33.8688, lon: -151.2093, accuracyM: 5 };
    expect(limitLocation(sydney, 'coarse')).toMatchObject({ lat: -33.9, lon: -151.2 });
  });
});
