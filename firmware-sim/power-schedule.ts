import { brewRate, type UsageProfile } from './usage-profiles.ts';

const HOUR_MS = 3_600_000;
/** A profile that never changes state within a week never will. */
const LOOKAHEAD_HOURS = 8 * 24;

/** A machine is switched on during the local hours its owner expects to brew. */
export const shouldBeOn = (profile: UsageProfile, at: number, utcOffsetHours: number): boolean => brewRate(profile, at, utcOffsetHours) > 0;

/** The next local hour boundary after `from` at which the machine should be in the other state than `on`. */
export function nextPowerChange(profile: UsageProfile, from: number, utcOffsetHours: number, on: boolean): number {
  const offsetMs = utcOffsetHours * HOUR_MS;
  let boundary = Math.floor((from + offsetMs) / HOUR_MS + 1) * HOUR_MS - offsetMs;
  for (let i = 0; i < LOOKAHEAD_HOURS; i++, boundary += HOUR_MS) {
    if (shouldBeOn(profile, boundary, utcOffsetHours) !== on) return boundary;
  }
  return Infinity;
}
