import { z } from 'zod';
import { NO_CONSENT, type ConsentCategories } from '../schema/consent.ts';
import { chance, weighted, type Rng } from './random.ts';

/**
 * How owners answer the consent screen at setup. Defaults follow what opt-in studies report: most
 * accept usage and diagnostics, fewer share location (exact least of all) or payment analytics, and
 * some decline everything.
 */
export const consentMixSchema = z.object({
  declineAll: z.number().min(0).max(1).default(0.08),
  usage: z.number().min(0).max(1).default(0.85),
  diagnostics: z.number().min(0).max(1).default(0.8),
  payment: z.number().min(0).max(1).default(0.4),
  location: z
    .object({ none: z.number().min(0), coarse: z.number().min(0), exact: z.number().min(0) })
    .refine((w) => w.none + w.coarse + w.exact > 0, 'at least one location weight must be positive')
    .default({ none: 35, coarse: 45, exact: 20 }),
});
export type ConsentMix = z.input<typeof consentMixSchema>;

export function chooseConsent(rng: Rng, mix: z.output<typeof consentMixSchema>): ConsentCategories {
  if (chance(rng, mix.declineAll)) return { ...NO_CONSENT };
  return {
    usage: chance(rng, mix.usage),
    location: weighted(rng, mix.location),
    payment: chance(rng, mix.payment),
    diagnostics: chance(rng, mix.diagnostics),
  };
}
