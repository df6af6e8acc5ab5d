import type { LocationPrecision } from './consent.ts';
import type { EventBody } from './events.ts';

type LocationBody = EventBody<'location'>;

/**
 * What "coarse" means, agreed by device and cloud alike: coordinates on a 0.1 degree grid (about
 * 11 km north-south, city level) and an accuracy claim no better than that grid.
 */
export const COARSE_GRID_DEGREES = 0.1;
export const COARSE_MIN_ACCURACY_M = 10_000;

const roundToGrid = (value: number): number => Math.round(value / COARSE_GRID_DEGREES) * COARSE_GRID_DEGREES;
const fixed = (value: number): number => Number(value.toFixed(1));

/**
 * Reduces a location to at most the allowed precision. Returns null when no location may be kept at
 * all. A coarse fix is never made exact again: coarsening is idempotent and only loses information.
 */
export function limitLocation(body: LocationBody, allowed: LocationPrecision): LocationBody | null {
  if (allowed === 'none') return null;
  if (allowed === 'exact') return body;
  return coarsen(body);
}

/** Idempotent: a body already on the grid comes back unchanged in value. */
function coarsen(body: LocationBody): LocationBody {
  return {
    precision: 'coarse',
    lat: fixed(roundToGrid(body.lat)),
    lon: fixed(roundToGrid(body.lon)),
    accuracyM: Math.max(body.accuracyM, COARSE_MIN_ACCURACY_M),
  };
}

/** True when a body is already no more precise than the coarse grid allows. */
export function isCoarse(body: LocationBody): boolean {
  const onGrid = (v: number): boolean => Math.abs(v - fixed(roundToGrid(v))) < 1e-9;
  return onGrid(body.lat) && onGrid(body.lon) && body.accuracyM >= COARSE_MIN_ACCURACY_M;
}
