import { MAX_CLOCK_WINDOW_MS } from '../server/config.ts';

/** How long an open-ended demo (no --duration) is planned to run, for the clock window below. */
const OPEN_ENDED_RUN_S = 7 * 86_400;
const HOUR_MS = 3_600_000;
/** Real seconds a run may go on past its duration: the fleet starts before the timer and drains after it. */
const SLACK_S = 60;
const DEFAULT_AHEAD_MS = 86_400_000;

/**
 * The demo fleet's clocks start at the real time and run `speed` times faster, so during a run of
 * `durationS` seconds they get (speed - 1) x duration ahead of the server's clock (x360: a day in
 * four minutes). The server must take those events, so the launcher widens its device-clock window
 * to that (with a minute of real time to spare for start and shutdown, and an hour on top), never
 * below the server's default and never past the widest it allows (years beyond 9999 stay refused
 * whatever the window). An open-ended run is planned for a week.
 */
export function demoClockAheadMs(speed: number, durationS: number): number {
  const runS = durationS > 0 ? durationS : OPEN_ENDED_RUN_S;
  const ahead = Math.ceil(Math.max(0, speed - 1) * (runS + SLACK_S) * 1000) + HOUR_MS;
  return Math.min(MAX_CLOCK_WINDOW_MS, Math.max(DEFAULT_AHEAD_MS, ahead));
}
