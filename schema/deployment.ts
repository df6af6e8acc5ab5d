import { z } from 'zod';
import { auditChainStatusSchema, regionComplianceSchema } from './privacy.ts';
import { regionIdSchema } from './regions.ts';
import { transferRuleSchema } from './transfers.ts';

/**
 * `GET /api/v1/directory/compliance`: the compliance report of a whole deployment of regional planes,
 * put together by the global directory from each plane's own `GET /api/v1/compliance`. Counts and
 * invariants only, built field by field (never the plane's answer passed on): no device id, owner,
 * pseudonym or event crosses from a plane into this report. A plane that does not answer is listed as
 * unavailable with null figures; the report is then incomplete, never a failed request.
 */

/** What the directory keeps of one plane's report: the figures of its one region. */
export const planeComplianceFiguresSchema = regionComplianceSchema
  .pick({
    devices: true,
    owners: true,
    tombstones: true,
    eventsByKind: true,
    refusedByReason: true,
    // Each must be 0 (schema/privacy.ts says why).
    residencyViolations: true,
    unconsentedRows: true,
    retentionOverdue: true,
  })
  .extend({
    generatedAt: z.iso.datetime(),
    auditChain: auditChainStatusSchema.shape.status,
    auditEntries: auditChainStatusSchema.shape.entries,
    /** The transfer rules in force out of this plane, and what went out under them (aggregates only). */
    transferRules: z.array(transferRuleSchema),
    transferBatches: z.int(),
    refusedWithoutRule: z.int(),
    transfersOutsideRules: z.int(),
    /** The plane's own verdict: every invariant holds there. */
    ok: z.boolean(),
  });
export type PlaneComplianceFigures = z.infer<typeof planeComplianceFiguresSchema>;

export const planeComplianceSchema = z.object({
  region: regionIdSchema,
  /** The plane's own API: its dashboard and its full report, where its personal data is read. */
  apiUrl: z.url(),
  state: z.enum(['available', 'unavailable']),
  /** Why it is unavailable (the plane's region and the coded error only); null when available. */
  reason: z.string().nullable(),
  figures: planeComplianceFiguresSchema.nullable(),
});
export type PlaneCompliance = z.infer<typeof planeComplianceSchema>;

export const deploymentComplianceSchema = z.object({
  generatedAt: z.iso.datetime(),
  planes: z.array(planeComplianceSchema),
  /** Sums over the planes that answered. */
  totals: z.object({
    planes: z.int(),
    planesUnavailable: z.int(),
    devices: z.int(),
    owners: z.int(),
    events: z.int(),
    refused: z.int(),
    residencyViolations: z.int(),
    unconsentedRows: z.int(),
    retentionOverdue: z.int(),
    auditChainsBroken: z.int(),
    transfersOutsideRules: z.int(),
  }),
  /** Every plane answered. */
  complete: z.boolean(),
  /** Complete, and every invariant holds in every plane. */
  ok: z.boolean(),
});
export type DeploymentCompliance = z.infer<typeof deploymentComplianceSchema>;
