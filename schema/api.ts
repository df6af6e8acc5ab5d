import { z } from 'zod';
import { consentCategoriesSchema, consentRecordSchema } from './consent.ts';
import { eventKindSchema } from './events.ts';
import { deviceIdSchema, eventIdSchema } from './ids.ts';
import { regionIdSchema } from './regions.ts';

/** HTTP contract of the server, `/api/v1`. Request and response bodies both sides rely on. */

/** The one error shape of every failed request; `code` is stable and documented. */
export const errorBodySchema = z.object({
  statusCode: z.int(),
  code: z.string(),
  message: z.string(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const provisionDeviceRequestSchema = z.strictObject({
  region: regionIdSchema,
  /** The owner's choices at setup; omitted means nothing is consented (privacy by default). */
  consent: consentCategoriesSchema.optional(),
});
export type ProvisionDeviceRequest = z.infer<typeof provisionDeviceRequestSchema>;

/**
 * The secret is shown exactly once. The device uses its id as MQTT client id and username and the
 * secret as password.
 */
export const provisionDeviceResponseSchema = z.object({
  id: deviceIdSchema,
  region: regionIdSchema,
  secret: z.string(),
  consent: consentRecordSchema,
});
export type ProvisionDeviceResponse = z.infer<typeof provisionDeviceResponseSchema>;

/**
 * `?omit=consent` on `POST /api/v1/devices` (and `:batch`): the answer leaves out the first consent
 * record. The global directory provisions so, and no consent record crosses its interface.
 */
export const provisionQuerySchema = z.object({ omit: z.literal('consent').optional() });
/** The answer under `?omit=consent`: the device's credentials only. */
export const provisionCredentialsSchema = provisionDeviceResponseSchema.omit({ consent: true });
export type ProvisionCredentials = z.infer<typeof provisionCredentialsSchema>;

/** Most devices one `POST /api/v1/devices:batch` provisions; a longer list is refused (400 BATCH_TOO_LARGE). */
export const PROVISION_BATCH_MAX = 1_000;

/** Batch provisioning: each entry as for one device; the limit is checked by the server (a coded error, not a validation message). */
export const provisionBatchRequestSchema = z.strictObject({
  devices: z.array(provisionDeviceRequestSchema).min(1),
});
export type ProvisionBatchRequest = z.infer<typeof provisionBatchRequestSchema>;

/** Every device of the batch with its one-time secret, in the order of the request. */
export const provisionBatchResponseSchema = z.object({
  devices: z.array(provisionDeviceResponseSchema),
});
export type ProvisionBatchResponse = z.infer<typeof provisionBatchResponseSchema>;
export const provisionCredentialsBatchSchema = z.object({ devices: z.array(provisionCredentialsSchema) });

/** Most devices one `PUT /api/v1/devices/consent:batch` sets; a longer list is refused (400 BATCH_TOO_LARGE). */
export const CONSENT_BATCH_MAX = 1_000;

/**
 * Consent choices of many devices of this plane in one call (one transaction per region): each entry
 * is recorded as the single `PUT /api/v1/devices/:id/consent` records it, a device listed once.
 */
export const consentBatchRequestSchema = z.strictObject({
  devices: z.array(z.strictObject({ id: deviceIdSchema, consent: consentCategoriesSchema })).min(1),
});
export type ConsentBatchRequest = z.infer<typeof consentBatchRequestSchema>;

/** The new record of every device of the batch, in the order of the request. */
export const consentBatchResponseSchema = z.object({ records: z.array(consentRecordSchema) });
export type ConsentBatchResponse = z.infer<typeof consentBatchResponseSchema>;

export const deviceSummarySchema = z.object({
  id: deviceIdSchema,
  region: regionIdSchema,
  createdAt: z.iso.datetime(),
});
export type DeviceSummary = z.infer<typeof deviceSummarySchema>;

export const deviceListResponseSchema = z.object({ devices: z.array(deviceSummarySchema) });

export const deviceIdParamsSchema = z.object({ id: deviceIdSchema });

export const deviceEventsQuerySchema = z.object({
  kind: eventKindSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const storedEventSchema = z.object({
  id: eventIdSchema,
  deviceId: deviceIdSchema,
  kind: eventKindSchema,
  seq: z.int(),
  ts: z.iso.datetime(),
  receivedAt: z.iso.datetime(),
  consentVersion: z.int(),
  body: z.record(z.string(), z.unknown()),
});
export type StoredEvent = z.infer<typeof storedEventSchema>;

export const deviceEventsResponseSchema = z.object({
  deviceId: deviceIdSchema,
  region: regionIdSchema,
  events: z.array(storedEventSchema),
});

/**
 * Through which channel the owner's consent change reached us, recorded in the ledger with who and
 * when: the API itself, the dashboard, an owner-facing app, or a support agent acting on the owner's word.
 */
export const consentChannelSchema = z.enum(['api', 'dashboard', 'app', 'support']);
export const consentChangeQuerySchema = z.object({ channel: consentChannelSchema.default('api') });

export const regionStatsSchema = z.object({
  region: regionIdSchema,
  stored: z.int(),
  refused: z.int(),
  /** Stored events by kind, and refusals the region's quarantine holds by reason code. */
  eventsByKind: z.record(z.string(), z.int()),
  refusedByReason: z.record(z.string(), z.int()),
});
export type RegionStats = z.infer<typeof regionStatsSchema>;

export const regionsResponseSchema = z.object({
  regions: z.array(regionStatsSchema),
  /** Refusals that belong to no region (unknown devices, unparseable topics); kept without payload. */
  unrouted: z.object({ refused: z.int() }),
});

export const storeStateSchema = z.enum(['up', 'down']);
export const healthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  stores: z.array(z.object({ region: regionIdSchema, state: storeStateSchema })),
  directory: storeStateSchema,
  mqtt: z.enum(['connected', 'disconnected']),
});

/** Broker -> server: is this device's secret valid? Used by the broker's device authenticator. */
export const deviceAuthRequestSchema = z.strictObject({
  deviceId: deviceIdSchema,
  secret: z.string().min(1).max(256),
});
export const deviceAuthResponseSchema = z.object({
  deviceId: deviceIdSchema,
  region: regionIdSchema,
});

/** Logins one batch check may carry (POST /api/v1/broker/device-auth:batch). */
export const DEVICE_AUTH_BATCH_MAX = 200;
/**
 * Broker -> server: the logins waiting at one moment, checked in one request. Each item is checked
 * as the single route checks it (an unknown device costs the same keyed hash as a known one).
 */
export const deviceAuthBatchRequestSchema = z.strictObject({
  items: z.array(deviceAuthRequestSchema).min(1).max(DEVICE_AUTH_BATCH_MAX),
});
/**
 * One answer per item, in request order. `invalid` is the same for an unknown device and a wrong
 * secret, as the single route's 401 is; `busy` means the registry had no check slot for the item.
 */
export const deviceAuthBatchResultSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('valid'), deviceId: deviceIdSchema, region: regionIdSchema }),
  z.object({ outcome: z.literal('invalid') }),
  z.object({ outcome: z.literal('busy') }),
]);
export type DeviceAuthBatchResult = z.infer<typeof deviceAuthBatchResultSchema>;
export const deviceAuthBatchResponseSchema = z.object({
  results: z.array(deviceAuthBatchResultSchema),
});

/**
 * Broker -> server: a device logged in with a client certificate its CA vouches for; does the device
 * exist and are its credentials not revoked? Answered like deviceAuth (200 with deviceAuthResponseSchema, else 401).
 */
export const deviceCertificateRequestSchema = z.strictObject({
  deviceId: deviceIdSchema,
});
