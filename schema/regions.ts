import { z } from 'zod';

/**
 * A region is a storage jurisdiction, not a place: every region has its own store, and a device's
 * region is fixed at provisioning. The set is configurable; these are the ones a fresh install uses.
 */
export const DEFAULT_REGIONS = ['eu', 'us', 'cn'] as const;

export const regionIdSchema = z.string().regex(/^[a-z][a-z0-9]{1,15}$/, 'a region id is 2-16 lowercase letters or digits, starting with a letter');
export type RegionId = z.infer<typeof regionIdSchema>;

export const regionListSchema = z
  .array(regionIdSchema)
  .min(1)
  .refine((ids) => new Set(ids).size === ids.length, 'region ids must be unique');
