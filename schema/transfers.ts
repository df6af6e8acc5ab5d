import { z } from 'zod';
import { recipeSchema } from './events.ts';
import { regionIdSchema } from './regions.ts';

/**
 * What a transfer rule may let leave a plane: aggregates only, never a row about one device or
 * owner. `brew-statistics`: brews per recipe and UTC day (device time). `event-counts`: stored events
 * per kind. Neither carries a device id, an owner, a location or a body.
 */
export const TRANSFER_CATEGORIES = ['brew-statistics', 'event-counts'] as const;
export const transferCategorySchema = z.enum(TRANSFER_CATEGORIES);
export type TransferCategory = z.infer<typeof transferCategorySchema>;

/** A destination: another region, or `global` (a deployment-wide view that belongs to no region). */
export const transferDestinationSchema = z.union([z.literal('global'), regionIdSchema]);

export const transferRuleNameSchema = z.string().regex(/^[a-z][a-z0-9-]{1,47}$/, 'a rule name is 2-48 lowercase letters, digits or -, starting with a letter');

/** Buckets counting fewer than this are suppressed before a batch leaves the plane (server/privacy/small-counts.ts). */
export const minCountSchema = z.int().min(1).max(1_000_000);

/** One named flow out of a plane, with the legal basis that allows it (shown in the compliance report). */
export const transferRuleSchema = z.strictObject({
  name: transferRuleNameSchema,
  from: regionIdSchema,
  to: transferDestinationSchema,
  categories: z.array(transferCategorySchema).min(1),
  /** Why this flow is lawful, e.g. "aggregated, not personal data (GDPR Recital 26)" or "GDPR Art. 46 SCCs". */
  legalBasis: z.string().min(3).max(500),
  /** Where the batch is POSTed; when not set the flow is an export, answered to the admin who asks. */
  destinationUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** This flow's small-count threshold, over the configuration's `transfers.minCount`; 1 sends every bucket. */
  minCount: minCountSchema.optional(),
});
export type TransferRule = z.infer<typeof transferRuleSchema>;
export type TransferRuleInput = z.input<typeof transferRuleSchema>;

export const transferParamsSchema = z.object({ rule: z.string().min(1).max(64) });

/**
 * A request for one batch of a named flow. `categories` may name anything (so a request for, say,
 * `events` is refused and counted rather than rejected as malformed); left out: all the rule allows.
 */
export const transferRequestSchema = z.strictObject({
  from: regionIdSchema,
  categories: z.array(z.string().min(1).max(64)).min(1).max(16).optional(),
});
export type TransferRequest = z.infer<typeof transferRequestSchema>;

export const brewStatisticSchema = z.object({ day: z.iso.date(), recipe: recipeSchema, brews: z.int().min(1) });
export type BrewStatistic = z.infer<typeof brewStatisticSchema>;

export const TRANSFER_BATCH_FORMAT = 'brewtel.transfer-batch.v1';

/** What leaves the plane: counts only. */
export const transferBatchSchema = z.strictObject({
  format: z.literal(TRANSFER_BATCH_FORMAT),
  rule: transferRuleNameSchema,
  from: regionIdSchema,
  to: transferDestinationSchema,
  legalBasis: z.string(),
  categories: z.array(transferCategorySchema),
  generatedAt: z.iso.datetime(),
  brewStatistics: z.array(brewStatisticSchema).optional(),
  eventCounts: z.record(z.string(), z.int()).optional(),
  /** The threshold applied: every bucket sent counts at least this many. */
  minCount: minCountSchema,
  /** Buckets left out because they counted fewer: the buckets sent are not the plane's totals. */
  suppressedBuckets: z.int().min(0),
});
export type TransferBatch = z.infer<typeof transferBatchSchema>;

export const transferResponseSchema = z.object({
  batch: transferBatchSchema,
  /** The destination's answer when the rule names one; null for an export. */
  delivered: z.object({ url: z.string(), status: z.int() }).nullable(),
});

/** The compliance report's transfer part: the rules in force and what went out under each. */
export const transferRuleCountsSchema = z.object({
  rule: z.string(),
  batches: z.int(),
  /** Aggregate values sent (one per count), never rows. */
  aggregates: z.int(),
  /** Buckets suppressed because they counted fewer than the rule's minCount. */
  suppressed: z.int(),
  refusals: z.int(),
  /** Batches the destination did not take. */
  failed: z.int(),
});

export const transferComplianceSchema = z.object({
  rules: z.array(transferRuleSchema),
  perRule: z.array(transferRuleCountsSchema),
  /** Requests naming no rule in force, refused. */
  refusedWithoutRule: z.int(),
  /** Sent batches whose audit entry names no rule in force with the same source, destination and categories: must be 0. */
  outsideRules: z.int(),
});
export type TransferCompliance = z.infer<typeof transferComplianceSchema>;
