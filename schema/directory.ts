import { z } from 'zod';
import { errorBodySchema, provisionCredentialsSchema } from './api.ts';
import { deviceIdSchema } from './ids.ts';
import { regionIdSchema } from './regions.ts';

/**
 * HTTP contract of the global directory (`/api/v1/directory`), the one service a deployment of
 * regional planes shares. It holds only what routing needs: device id -> home region, and each
 * region's plane endpoints from its configuration. It never sees an event, a consent record or an
 * owner: provisioning carries only the home region, the home plane provisions with nothing consented
 * (privacy by default), and whoever provisions sets the owner's choices at that plane's API directly
 * (`PUT {apiUrl}/api/v1/devices/consent:batch`). The one-time device secret passes through: the plane
 * keeps its hash, and the directory hands the plane's answer back without keeping it.
 */

/** Where one region's plane is reached: its broker for devices, its API for people and services. */
export const planeEndpointsSchema = z.strictObject({
  region: regionIdSchema,
  /** MQTT URL devices of this region connect to (mqtt:// or mqtts://). */
  mqttUrl: z.url(),
  /**
   * The plane's MQTT-over-TLS URL (mqtts://), where devices may log in with a client certificate.
   * Only needed when mqttUrl is not that listener: a certificate device at the wrong plane is sent
   * here, else to mqttUrl when that is mqtts:// (docs/planes.md, "Devices at the wrong plane").
   */
  mqttsUrl: z.url({ protocol: /^(mqtts|tls)$/, hostname: /./ }).optional(),
  /** Base URL of the plane's server (its `/api/v1`, dashboard and health). */
  apiUrl: z.url(),
});
export type PlaneEndpoints = z.infer<typeof planeEndpointsSchema>;

/** `GET /api/v1/directory/devices/:id`: where a device belongs; 404 DEVICE_NOT_FOUND when unknown. */
export const deviceHomeSchema = planeEndpointsSchema.extend({ deviceId: deviceIdSchema });
export type DeviceHome = z.infer<typeof deviceHomeSchema>;

/**
 * `POST /api/v1/directory/devices`: the home region only. A body with `consent` is refused with
 * 400 CONSENT_AT_HOME_PLANE (routes.ts), so a client that used to send it learns where it goes.
 */
export const directoryProvisionRequestSchema = z.strictObject({ region: regionIdSchema });
export type DirectoryProvisionRequest = z.infer<typeof directoryProvisionRequestSchema>;

/** `POST /api/v1/directory/devices:batch`: up to PROVISION_BATCH_MAX entries, each as for one device. */
export const directoryProvisionBatchRequestSchema = z.strictObject({ devices: z.array(directoryProvisionRequestSchema).min(1) });
export type DirectoryProvisionBatchRequest = z.infer<typeof directoryProvisionBatchRequestSchema>;

/**
 * `POST /api/v1/directory/devices` (and `:batch`): the home plane's credentials plus the endpoints to
 * use. The directory asks the plane with `?omit=consent`, so the plane's consent record stays there.
 */
export const directoryProvisionResponseSchema = provisionCredentialsSchema.extend({
  mqttUrl: z.url(),
  mqttsUrl: planeEndpointsSchema.shape.mqttsUrl,
  apiUrl: z.url(),
});
export type DirectoryProvisionResponse = z.infer<typeof directoryProvisionResponseSchema>;

/** A region of a batch the directory could not provision: which entries, and the coded error of that region alone. */
export const directoryBatchFailureSchema = z.object({
  region: regionIdSchema,
  /** Positions (0-based) in the request's `devices` of the entries not provisioned. */
  indexes: z.array(z.int().min(0)),
  error: errorBodySchema,
});
export type DirectoryBatchFailure = z.infer<typeof directoryBatchFailureSchema>;

/**
 * `POST /api/v1/directory/devices:batch`: every device provisioned, in request order, and the regions
 * that failed. 201 when `failed` is empty; 207 when some regions were provisioned and others not (the
 * secrets of those that were are only in this answer, so it is never swallowed by an error); when no
 * region could be provisioned, the first region's error alone.
 */
export const directoryProvisionBatchResponseSchema = z.object({
  devices: z.array(directoryProvisionResponseSchema),
  failed: z.array(directoryBatchFailureSchema),
});
export type DirectoryProvisionBatchResponse = z.infer<typeof directoryProvisionBatchResponseSchema>;

/** `GET /api/v1/directory/planes`: every plane's endpoints, its health and its counts (never a row). */
export const planeStatusSchema = planeEndpointsSchema.extend({
  /** From the plane's `GET /health`: 200 up, 503 degraded (a store or its broker link down), no answer down. */
  state: z.enum(['up', 'degraded', 'down']),
  /** Counts from the plane's `GET /api/v1/regions` for its region; null while the plane is down. */
  stored: z.int().nullable(),
  refused: z.int().nullable(),
  /** Devices the directory has recorded with this home region. */
  devices: z.int(),
});
export const planesResponseSchema = z.object({ planes: z.array(planeStatusSchema) });
export type PlanesResponse = z.infer<typeof planesResponseSchema>;
export type PlaneStatus = z.infer<typeof planeStatusSchema>;

/** `GET /health` of the directory itself: its own store (the planes are in `/api/v1/directory/planes`); 503 when down. */
export const directoryHealthSchema = z.object({ status: z.enum(['ok', 'degraded']), store: z.enum(['up', 'down']) });
