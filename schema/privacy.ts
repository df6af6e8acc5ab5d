import { z } from 'zod';
import { storedEventSchema } from './api.ts';
import { consentCategoriesSchema } from './consent.ts';
import { deviceIdSchema } from './ids.ts';
import { refusalExplanationSchema } from './refusal-explanation.ts';
import { regionIdSchema } from './regions.ts';
import { transferComplianceSchema } from './transfers.ts';

/**
 * Privacy operations over HTTP: owners, data-subject rights (export, erasure), the audit log and the
 * compliance report. The export document is a documented, portable format of its own (`format`).
 */

/** `own-{region}-{16 base32}`: the home region is part of the id, so no global table of owners is needed. */
export const ownerIdSchema = z.string().regex(/^own-[a-z][a-z0-9]{1,15}-[a-z2-7]{16}$/, 'an owner id is own-REGION-16 base32 characters');
export type OwnerId = z.infer<typeof ownerIdSchema>;
export const ownerIdParamsSchema = z.object({ id: ownerIdSchema });

/** NUL, which PostgreSQL's text cannot hold, and half a surrogate pair, which no UTF-8 store can hold as given. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this pattern looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storableText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((text) => !UNSTORABLE.test(text), 'text without NUL or unpaired surrogates');

export const createOwnerRequestSchema = z.strictObject({
  region: regionIdSchema,
  name: storableText(200),
  /** An e-mail address, phone number or postal address: kept only in the owner's region. */
  contact: storableText(500),
});
export type CreateOwnerRequest = z.infer<typeof createOwnerRequestSchema>;

export const ownerSchema = z.object({
  id: ownerIdSchema,
  region: regionIdSchema,
  /** How stored data refers to the owner: a keyed hash, never the name. */
  pseudonym: z.string(),
  name: z.string(),
  contact: z.string(),
  createdAt: z.iso.datetime(),
  devices: z.array(deviceIdSchema),
});
export type Owner = z.infer<typeof ownerSchema>;

export const OWNER_PAGE_MAX = 200;
export const ownerListQuerySchema = z.object({
  region: regionIdSchema,
  limit: z.coerce.number().int().min(1).max(OWNER_PAGE_MAX).default(100),
  /** The `next` of the previous page: owners after that id. */
  after: ownerIdSchema.optional(),
});
/** One region's owners, a page at a time, by id (an audited read of personal data). */
export const ownerListResponseSchema = z.object({
  region: regionIdSchema,
  owners: z.array(ownerSchema),
  next: ownerIdSchema.nullable(),
});

export const attachDeviceRequestSchema = z.strictObject({ deviceId: deviceIdSchema });
export const attachDeviceResponseSchema = z.object({ ownerId: ownerIdSchema, deviceId: deviceIdSchema });

/** Most owners one `POST /api/v1/owners:batch` creates; a longer list is refused (400 BATCH_TOO_LARGE). */
export const OWNER_BATCH_MAX = 1_000;

/**
 * Batch owner creation: each entry as for one owner plus the devices of its region to attach at once
 * (a device at most once in the whole batch). The limit is checked by the server (a coded error).
 */
export const createOwnersBatchRequestSchema = z.strictObject({
  owners: z.array(createOwnerRequestSchema.extend({ deviceIds: z.array(deviceIdSchema).max(100) })).min(1),
});
export type CreateOwnersBatchRequest = z.infer<typeof createOwnersBatchRequestSchema>;

/** Every owner of the batch with its devices, in the order of the request. */
export const createOwnersBatchResponseSchema = z.object({ owners: z.array(ownerSchema) });
export type CreateOwnersBatchResponse = z.infer<typeof createOwnersBatchResponseSchema>;

export const auditEntrySchema = z.object({
  seq: z.int().min(1),
  at: z.iso.datetime(),
  /** The token subject that acted (or `system` for the retention sweeper). */
  actor: z.string(),
  action: z.string(),
  /** An owner id, device id, region or token subject; never a name or contact data. */
  target: z.string(),
  detail: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const consentHistoryEntrySchema = z.object({
  version: z.int().min(1),
  issuedAt: z.iso.datetime(),
  categories: consentCategoriesSchema,
  /** Who changed it (a token subject) and through which channel (api, provisioning). */
  actor: z.string(),
  channel: z.string(),
});

export const OWNER_EXPORT_FORMAT = 'brewtel.owner-export.v1';

/** One span of ownership: [from, to), `to` null while it lasts. A device's first owner's span starts at the epoch. */
export const ownershipSpanSchema = z.object({ from: z.iso.datetime(), to: z.iso.datetime().nullable() });

/** A message of the owner's device that the server refused and quarantined within their ownership. */
export const exportedRefusalSchema = z.object({
  receivedAt: z.iso.datetime(),
  reason: z.string(),
  eventId: z.string().nullable(),
  kind: z.string().nullable(),
  /** The message as received (base64), only where the quarantine kept one (`ingest.quarantinePayloads`). */
  payloadBase64: z.string().nullable(),
  /** Additive in v1: why it was refused (schema paths and field names, never a value); null for older rows. */
  explanation: refusalExplanationSchema.nullable().optional(),
});

/** Everything held about one owner, from their home region: `npm run schema:export` publishes it as JSON Schema. */
export const ownerExportSchema = z.object({
  format: z.literal(OWNER_EXPORT_FORMAT),
  exportedAt: z.iso.datetime(),
  region: regionIdSchema,
  owner: ownerSchema.omit({ devices: true }),
  /** Every device the owner has or had, each with only what falls in the owner's ownership of it. */
  devices: z.array(
    z.object({
      id: deviceIdSchema,
      createdAt: z.iso.datetime(),
      /** Additive in v1: when the device was the owner's (events by device time fall in these spans). */
      ownership: z.array(ownershipSpanSchema).optional(),
      /** The consent versions in force during the owner's ownership. */
      consentHistory: z.array(consentHistoryEntrySchema),
      events: z.array(storedEventSchema),
      /** Additive in v1: the quarantine's rows of the device that arrived within the owner's ownership. */
      quarantine: z.array(exportedRefusalSchema).optional(),
    }),
  ),
  /** Audit entries about the owner, and about their devices while they were theirs. */
  audit: z.array(auditEntrySchema),
});
export type OwnerExport = z.infer<typeof ownerExportSchema>;

export const erasureCountsSchema = z.object({
  owners: z.int(),
  devices: z.int(),
  events: z.int(),
  consentRecords: z.int(),
  refusals: z.int(),
});

export const erasureResponseSchema = z.object({
  region: regionIdSchema,
  /** Device ids now tombstoned: their late or redelivered events are refused as `device_erased`. */
  tombstoned: z.array(deviceIdSchema),
  erased: erasureCountsSchema,
});

export const auditChainStatusSchema = z.object({
  /** A region id, or `directory` for the global log (logins). */
  store: z.string(),
  status: z.enum(['ok', 'broken']),
  entries: z.int(),
  /** The first entry whose hash or link does not match, or the first one missing from a truncated tail. */
  brokenAt: z.int().nullable(),
  /**
   * Why it is broken: an entry edited, inserted or removed (`edited`); links all plain sha256 with no
   * keyed part (`unkeyed`: recomputed without the key); entries missing from the end behind the
   * signed checkpoint (`truncated`); the entry at the checkpoint differs from it (`rewritten`); a
   * checkpoint that does not verify (`checkpoint_forged`) or none at all (`checkpoint_missing`).
   */
  reason: z.enum(['edited', 'unkeyed', 'truncated', 'rewritten', 'checkpoint_forged', 'checkpoint_missing']).nullable().optional(),
  /** Entries before the keyed marker: a store's chain from before chains were keyed, verified as sha256 links. */
  legacyEntries: z.int().optional(),
  /** The newest head the signed checkpoints vouch for; null when there is none. */
  checkpointSeq: z.int().nullable().optional(),
});
export type AuditChainStatus = z.infer<typeof auditChainStatusSchema>;

export const auditVerifyResponseSchema = z.object({ chains: z.array(auditChainStatusSchema) });

export const auditListQuerySchema = z.object({
  region: z.string(),
  afterSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Only entries about these targets (owner ids, device ids, regions), comma-separated; at most 50. */
  target: z.string().max(5_000).optional(),
  /** `true`: the last `limit` entries after `afterSeq` instead of the first (still in seq order). */
  newest: z.enum(['true', 'false']).optional(),
});
export const auditListResponseSchema = z.object({
  store: z.string(),
  entries: z.array(auditEntrySchema),
  /** The seq of the chain's last entry (0 when empty): with it a reader can page from the newest end. */
  head: z.int().optional(),
});

export const RETENTION_CATEGORIES = ['usage', 'location', 'payment', 'diagnostics', 'quarantine'] as const;
export const retentionCategorySchema = z.enum(RETENTION_CATEGORIES);
export type RetentionCategory = z.infer<typeof retentionCategorySchema>;

export const regionComplianceSchema = z.object({
  region: regionIdSchema,
  devices: z.int(),
  owners: z.int(),
  tombstones: z.int(),
  eventsByKind: z.record(z.string(), z.int()),
  refusedByReason: z.record(z.string(), z.int()),
  /** Events of devices whose directory region is another one (or none): must be 0. */
  residencyViolations: z.int(),
  /** Events their recorded consent does not allow: must be 0. */
  unconsentedRows: z.int(),
  /** Rows older than their category's retention period plus one sweep interval: must be 0. */
  retentionOverdue: z.int(),
  auditChain: auditChainStatusSchema,
});

export const complianceReportSchema = z.object({
  generatedAt: z.iso.datetime(),
  regions: z.array(regionComplianceSchema),
  /** Null for a regional operator, who sees its own region only. */
  directory: z.object({ unroutedRefused: z.int(), auditChain: auditChainStatusSchema }).nullable(),
  /** The transfer rules in force from these regions and what went out under each (schema/transfers.ts). */
  transfers: transferComplianceSchema,
  totals: z.object({
    residencyViolations: z.int(),
    unconsentedRows: z.int(),
    retentionOverdue: z.int(),
    auditChain: z.enum(['ok', 'broken']),
    /** Sent transfer batches no rule in force covers: must be 0. */
    transfersOutsideRules: z.int(),
  }),
  /** True when every hard invariant holds. */
  ok: z.boolean(),
});
export type ComplianceReport = z.infer<typeof complianceReportSchema>;

export const retentionSweepResponseSchema = z.object({
  regions: z.array(z.object({ region: regionIdSchema, deleted: z.record(z.string(), z.int()) })),
});
