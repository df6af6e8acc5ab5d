import type { EventBody, MachinePhase } from '../schema/events.ts';

type BrewBody = EventBody<'brew'>;

export interface PhaseSpan {
  phase: MachinePhase;
  fromMs: number;
  toMs: number;
}

// Grinding takes about 0.6 s per gram on a burr grinder; milk froths at about 10 ml/s.
const GRIND_MS_PER_G = 600;
const FROTH_MS_PER_ML = 100;

/**
 * The phases one brew passes through, as offsets from its start, filling exactly `durationMs`:
 * grinding (if beans are used), then brewing (or dispensing for hot water), then frothing (if milk).
 * Grinding and frothing are capped so the extraction keeps at least half of the time.
 */
export function brewTimeline(brew: BrewBody): PhaseSpan[] {
  const total = Math.max(1, brew.durationMs);
  const grind = Math.min(Math.round(brew.doseG * GRIND_MS_PER_G), Math.floor(total / 4));
  const froth = Math.min(Math.round(brew.milkMl * FROTH_MS_PER_ML), Math.floor(total / 4));
  const extract = total - grind - froth;
  const spans: PhaseSpan[] = [];
  let at = 0;
  const push = (phase: MachinePhase, ms: number): void => {
    if (ms <= 0) return;
    spans.push({ phase, fromMs: at, toMs: at + ms });
    at += ms;
  };
  push('grinding', grind);
  push(brew.doseG > 0 ? 'brewing' : 'dispensing', extract);
  push('frothing', froth);
  return spans;
}

/** The phase `elapsedMs` into a brew; past its end the brew is over and `null` comes back. */
export function phaseOfBrew(brew: BrewBody, elapsedMs: number): MachinePhase | null {
  if (elapsedMs < 0) return null;
  for (const span of brewTimeline(brew)) if (elapsedMs < span.toMs) return span.phase;
  return null;
}
