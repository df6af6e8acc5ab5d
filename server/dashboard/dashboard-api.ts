import { z } from 'zod';
import { storedEventSchema } from '../../schema/api.ts';
import { consentRecordSchema } from '../../schema/consent.ts';
import { eventKindSchema, locationBodySchema, statusBodySchema } from '../../schema/events.ts';
import { deviceIdSchema } from '../../schema/ids.ts';
import { regionIdSchema } from '../../schema/regions.ts';
import { deviceStateSchema } from '../../schema/topics.ts';
import { findingSchema, refusalExplanationSchema } from '../../schema/refusal-explanation.ts';

/**
 * The dashboard's HTTP contract. It lives beside the dashboard, not in schema/, because only this
 * server's own page reads it; the page imports these types (type-only, so no zod in the bundle).
 */

export const sessionResponseSchema = z.object({
  role: z.string(),
  subject: z.string(),
  /** Regions this token may see; the server filters every dashboard answer to them. */
  regions: z.array(regionIdSchema),
  /** Whether event bodies are shown to this role in the stream and on device pages. */
  bodies: z.boolean(),
  canChangeConsent: z.boolean(),
  /** Mirrors the roles of the owner, audit and quarantine routes, so the page offers only what works. */
  canManageOwners: z.boolean(),
  canReadAudit: z.boolean(),
  canReadQuarantine: z.boolean(),
  kinds: z.array(eventKindSchema),
  /** The MQTT address devices connect to, when the server was told (the launcher tells it); for the demo command. */
  mqttUrl: z.string().nullable(),
  /** How many times faster than real time the simulated fleet's clocks run, when known: device times are simulated. */
  simulatedSpeed: z.number().nullable(),
  /**
   * When this server is a regional plane: the global directory's address (`globalDirectory.url`), whose
   * `/` is the deployment overview (every plane's health and counts). Null otherwise.
   */
  deploymentUrl: z.string().nullable(),
});
export type SessionResponse = z.infer<typeof sessionResponseSchema>;

export const fleetLocationSchema = locationBodySchema.extend({ at: z.iso.datetime() });
export const fleetConsumablesSchema = statusBodySchema.extend({ at: z.iso.datetime() });

export const fleetDeviceSchema = z.object({
  id: deviceIdSchema,
  region: regionIdSchema,
  state: deviceStateSchema.nullable(),
  consent: consentRecordSchema.nullable(),
  /** The last stored fix, reduced to the precision the current consent allows; null when none may be shown. */
  location: fleetLocationSchema.nullable(),
  consumables: fleetConsumablesSchema.nullable(),
});
export type FleetDevice = z.infer<typeof fleetDeviceSchema>;

export const fleetResponseSchema = z.object({ devices: z.array(fleetDeviceSchema) });
export type FleetResponse = z.infer<typeof fleetResponseSchema>;

/** Bodies are left out for roles that may not see them. */
export const dashboardEventSchema = storedEventSchema.extend({ body: storedEventSchema.shape.body.optional() });
export type DashboardEvent = z.infer<typeof dashboardEventSchema>;

/** A refusal of one device as its page shows it: why, never what it sent (the payload stays in the quarantine). */
export const deviceRefusalSchema = z.object({
  id: z.int(),
  receivedAt: z.iso.datetime(),
  reason: z.string(),
  kind: z.string().nullable(),
  eventId: z.string().nullable(),
  explanation: refusalExplanationSchema.nullable(),
  /** Whether the quarantine kept the message as received (`ingest.quarantinePayloads`): readable by operators through the quarantine route only. */
  payloadKept: z.boolean(),
});
export type DeviceRefusal = z.infer<typeof deviceRefusalSchema>;

export const fleetDeviceDetailSchema = fleetDeviceSchema.extend({
  recent: z.array(dashboardEventSchema),
  /** Its latest refusals, newest first, from its home region's quarantine. */
  refusals: z.array(deviceRefusalSchema),
});
export type FleetDeviceDetail = z.infer<typeof fleetDeviceDetailSchema>;

export const rateSampleSchema = z.object({ t: z.int(), stored: z.int(), refused: z.int() });
export type RateSample = z.infer<typeof rateSampleSchema>;

export const regionPanelSchema = z.object({
  region: regionIdSchema,
  /** Totals read from the region's store. */
  stored: z.int(),
  refused: z.int(),
  /** Since this server started, from committed rows. */
  storedByKind: z.record(z.string(), z.int()),
  refusedByReason: z.record(z.string(), z.int()),
  /** Committed events whose device's home region is not this store's: must stay zero. */
  residencyViolations: z.int(),
  /** Committed per second over the last minute, oldest first. */
  perSecond: z.array(rateSampleSchema),
  since: z.iso.datetime(),
});
export type RegionPanel = z.infer<typeof regionPanelSchema>;

export const regionPanelsResponseSchema = z.object({ regions: z.array(regionPanelSchema) });
export type RegionPanelsResponse = z.infer<typeof regionPanelsResponseSchema>;

export const streamQuerySchema = z.object({
  region: regionIdSchema.optional(),
  kind: eventKindSchema.optional(),
  device: deviceIdSchema.optional(),
});
export type StreamFilter = z.infer<typeof streamQuerySchema>;

/** One server-sent event's data; the SSE `event:` field carries `type`. */
export const streamStoredSchema = z.object({
  type: z.literal('stored'),
  region: regionIdSchema,
  id: z.string(),
  deviceId: z.string(),
  kind: eventKindSchema,
  ts: z.iso.datetime(),
  receivedAt: z.iso.datetime(),
  body: z.record(z.string(), z.unknown()).optional(),
});
export const streamRefusedSchema = z.object({
  type: z.literal('refused'),
  region: regionIdSchema,
  reason: z.string(),
  deviceId: z.string().nullable(),
  kind: z.string().nullable(),
  at: z.iso.datetime(),
  /** Why, in schema paths and fixed words (never a value); absent for refusals without an explanation. */
  findings: z.array(findingSchema).optional(),
});
/** Rows a stream left out in the last second because it was over its rate; the page shows the count. */
export const streamSkippedSchema = z.object({ type: z.literal('skipped'), count: z.int() });
export type StreamStored = z.infer<typeof streamStoredSchema>;
export type StreamRefused = z.infer<typeof streamRefusedSchema>;
export type StreamSkipped = z.infer<typeof streamSkippedSchema>;
export type StreamMessage = StreamStored | StreamRefused | StreamSkipped;
