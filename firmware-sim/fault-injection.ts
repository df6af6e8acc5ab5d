import { INJECTED_FAULTS, type FaultRates, type InjectedFault } from '../schema/fault-rates.ts';
import type { Rng } from './random.ts';

export const anyFaults = (rates: FaultRates): boolean => INJECTED_FAULTS.some((f) => rates[f] > 0);

/** At most one fault per event, from one draw, so the rates are exact and the choice reproducible. */
export function decideFault(rng: Rng, rates: FaultRates): InjectedFault | null {
  let roll = rng.next();
  for (const fault of INJECTED_FAULTS) {
    roll -= rates[fault];
    if (roll < 0) return fault;
  }
  return null;
}

/** A corrupted copy of a JSON payload; none of the variants carries a readable sequence number. */
export function malform(rng: Rng, payload: string): string {
  const variant = Math.floor(rng.next() * 3);
  if (variant === 0) return payload.slice(0, Math.floor(payload.length / 2));
  if (variant === 1) return `\u0000not json ${payload.length}`;
  const { seq: _seq, ...rest } = JSON.parse(payload) as Record<string, unknown>;
  return JSON.stringify({ ...rest, v: 99, body: 'garbled' });
}
