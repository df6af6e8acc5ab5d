import { z } from 'zod';

/** What a test harness can make a simulated machine's link do to an event, each at its own rate: the
 * fleet's options, the harness and the HTTP fleet control API take these. */
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
