import { z } from 'zod';
import { deviceIdSchema } from './ids.ts';

export const locationPrecisionSchema = z.enum(['none', 'coarse', 'exact']);
export type LocationPrecision = z.infer<typeof locationPrecisionSchema>;

/** Ordered from least to most revealing, so two precisions can be compared. */
export const LOCATION_PRECISION_ORDER: readonly LocationPrecision[] = ['none', 'coarse', 'exact'];

export const consentCategoriesSchema = z.strictObject({
  /** Brews: what was made, when. */
  usage: z.boolean(),
  /** Where the machine stands, and how precisely. */
  location: locationPrecisionSchema,
  /** Payment analytics: token, amount, method. Never a card number in any case. */
  payment: z.boolean(),
  /** Machine health: consumables, temperatures, faults. */
  diagnostics: z.boolean(),
});
export type ConsentCategories = z.infer<typeof consentCategoriesSchema>;

export const consentCategoryNameSchema = z.enum(['usage', 'location', 'payment', 'diagnostics']);
export type ConsentCategoryName = z.infer<typeof consentCategoryNameSchema>;

/** Privacy by default (GDPR Art. 25): until the owner says otherwise, nothing is consented. */
export const NO_CONSENT: ConsentCategories = Object.freeze({
  usage: false,
  location: 'none',
  payment: false,
  diagnostics: false,
});

/**
 * The record the cloud publishes, retained, on `coffee/v1/{deviceId}/consent`. Versions start at 1
 * and only grow; a device applies the highest version it has seen and stamps it on every event.
 */
/**
 * The ledger's versions are int4 on PostgreSQL (ConsentRecord.version). The cloud issues them one by
 * one per device, so bounding the record it publishes costs no device anything.
 */
export const CONSENT_VERSION_MAX = 2_147_483_647;

export const consentRecordSchema = z.strictObject({
  deviceId: deviceIdSchema,
  version: z.int().min(1).max(CONSENT_VERSION_MAX),
  issuedAt: z.iso.datetime({ offset: true }),
  categories: consentCategoriesSchema,
});
export type ConsentRecord = z.infer<typeof consentRecordSchema>;
