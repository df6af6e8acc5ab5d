import { z } from 'zod';

/**
 * One process's share of a fleet run by several (`--slice K/N`): slice K of N takes the fleet indices
 * [floor((K-1)·M/N), floor(K·M/N)) of a fleet of M machines, so the N slices are disjoint, cover the
 * fleet, and differ in size by at most one. Every machine's behaviour comes from (seed, fleet index),
 * so machine i acts the same in any slice layout as in a single process.
 */
export interface FleetSlice {
  /** 1-based, as written on the command line. */
  index: number;
  of: number;
}

export interface SliceRange {
  /** Fleet index of the slice's first machine. */
  first: number;
  /** Machines in the slice. */
  count: number;
}

/** `2/4` -> `{ index: 2, of: 4 }`: K and N whole numbers, 1 <= K <= N. */
export const fleetSliceSchema = z
  .string()
  .regex(/^\d+\/\d+$/, 'expected K/N, e.g. 2/4 (this process runs the second quarter of the fleet)')
  .transform((text): FleetSlice => {
    const [index, of] = text.split('/').map(Number) as [number, number];
    return { index, of };
  })
  .refine((s) => s.of >= 1 && s.index >= 1 && s.index <= s.of, 'K/N needs 1 <= K <= N');

/** The fleet indices slice K/N of a fleet of `machines` runs; an error when there are more slices than machines. */
export function sliceRange(machines: number, slice: FleetSlice): SliceRange {
  if (!Number.isInteger(machines) || machines < 1) throw new Error('a sliced fleet needs at least one machine');
  if (slice.of > machines) throw new Error(`${slice.of} slices of ${machines} machines would leave a slice empty`);
  const first = Math.floor(((slice.index - 1) * machines) / slice.of);
  const end = Math.floor((slice.index * machines) / slice.of);
  return { first, count: end - first };
}
