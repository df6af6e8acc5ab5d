import { eventKindSchema } from '../../schema/events.ts';
import type { EventRow } from './types.ts';

/**
 * A stored event as the rest of the server sees it. `seq` is int8 in the store (Prisma reads it as a
 * bigint) and at most Number.MAX_SAFE_INTEGER by contract, so the number is exact.
 */
export const eventRowOf = (e: Omit<EventRow, 'kind' | 'seq'> & { kind: string; seq: bigint | number }): EventRow => ({
  ...e,
  kind: eventKindSchema.parse(e.kind),
  seq: Number(e.seq),
});
