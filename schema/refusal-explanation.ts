import { z } from 'zod';

/**
 * Why the server refused a message, in a form that is safe to keep and to show to anyone who may
 * see the refusal: schema paths and problems in fixed words, and the names of the fields the message
 * carried. Never a value: problems come from the closed list below, and the server shows a field
 * name only when it is shaped like an identifier (server/ingest/explanation.ts).
 */
export const PROBLEMS = [
  'not allowed',
  'missing',
  'wrong type',
  'not an allowed value',
  'above its maximum',
  'below its minimum',
  'wrong format',
  'looks like a card number',
  'not an event kind',
  'matches none of the allowed forms',
  'breaks a rule of the contract',
  'more precise than consented',
  'location not consented',
  'not consented',
  'withdrawn since the event',
  "not consented at the event's time",
  'not JSON',
  'not an event topic',
  'not registered',
  'no store in this deployment',
  'erased',
  'differs from the topic',
  'too far ahead of the server clock',
  'too far behind the server clock',
  'refused by the store',
  'internal error',
] as const;
export type Problem = (typeof PROBLEMS)[number];

export const findingSchema = z.object({ path: z.string(), problem: z.enum(PROBLEMS) });
export type Finding = z.infer<typeof findingSchema>;

export const refusalExplanationSchema = z.object({
  findings: z.array(findingSchema),
  /**
   * The field names the message carried (nested with dots, arrays as `[]`), in the order sent; null
   * when ingest did not read the payload (the sender was unknown or erased) or it was not JSON.
   */
  fields: z.array(z.string()).nullable(),
  /** Findings or fields were left out past the bounds. */
  truncated: z.boolean(),
});
export type RefusalExplanation = z.infer<typeof refusalExplanationSchema>;
