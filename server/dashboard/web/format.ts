import { COARSE_MIN_ACCURACY_M } from '../../../schema/location.ts';

/**
 * The page's wording for positions and times, in one place, so the map, the device page and the
 * tour say the same thing the same way.
 */

/** ±15 m, ±10 km. */
export function accuracyText(metres: number): string {
  return metres >= 1_000 ? `±${Math.round(metres / 1_000)} km` : `±${Math.round(metres)} m`;
}

/** What the two location precisions mean; the coarse grid is 0.1°, its accuracy claim at least 10 km. */
export const PRECISION_TEXT = {
  coarse: `coarse: city level, ${accuracyText(COARSE_MIN_ACCURACY_M)}`,
  exact: 'exact',
} as const;

export function positionText(location: { precision: 'coarse' | 'exact'; accuracyM: number }): string {
  return location.precision === 'coarse' ? PRECISION_TEXT.coarse : `exact, ${accuracyText(location.accuracyM)}`;
}

/**
 * Device times come from the machines' clocks; the demo fleet's clocks run faster than real time,
 * which the label says, so "Dec 9" next to a real "Dec 2" is not mistaken for a bug.
 */
export function deviceTimeLabel(simulatedSpeed: number | null): string {
  return simulatedSpeed === null ? 'device time' : `device time (simulated, ×${simulatedSpeed})`;
}
export const REAL_TIME_LABEL = 'received (real time)';

export const dateTime = (iso: string): string => new Date(iso).toLocaleString();
export const timeOfDay = (iso: string): string => new Date(iso).toLocaleTimeString();
