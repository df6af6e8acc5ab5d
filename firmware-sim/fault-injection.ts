import { z } from 'zod';
import type { Rng } from './random.ts';

/** What a test harness can make the link do to an event, each at its own rate. */
export const INJECTED_FAULTS = ['drop', 'duplicate', 'reorder', 'delay', 'disconnect', 'malformed'] as const;
export type InjectedFault = (typeof INJECTED_FAULTS)[number];

const rate = z.number().min(0).max(1).default(0);

export const faultRatesSchema = z
  .strictObject({
    /** Never sent. */
    drop: rate,
    /** Sent twice, same event id: the receiver must deduplicate. */
    duplicate: rate,
    /** Held back and sent after the next event of the same machine. */
    reorder: rate,
    /** Sent `delayMs` real milliseconds late (which also reorders it). */
    delay: rate,
    /** The link drops just before this event; it goes through the offline buffer. */
    disconnect: rate,
    /** The payload is corrupted: truncated, not JSON, or JSON that breaks the envelope schema. */
    malformed: rate,
    delayMs: z.int().min(0).max(60_000).default(200),
  })
  .refine((r) => INJECTED_FAULTS.reduce((sum, f) => sum + r[f], 0) <= 1, 'fault rates add up to at most 1');
export type FaultRates = z.output<typeof faultRatesSchema>;
export type FaultRatesInput = z.input<typeof faultRatesSchema>;

export const NO_FAULTS: FaultRates = faultRatesSchema.parse({});

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
