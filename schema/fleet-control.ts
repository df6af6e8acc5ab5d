import { z } from 'zod';
import { faultRatesSchema } from './fault-rates.ts';
import { deviceIdSchema } from './ids.ts';
import { regionIdSchema } from './regions.ts';

/**
 * The fleet control API (`/api/v1/control/…`, admin only): a simulated fleet running in the server's
 * process (`npm start`, the harness) driven from a user's own tools while it runs.
 */
export const CONTROL_DEVICES_MAX = 10_000;

export const fleetControlResponseSchema = z.object({
  machines: z.array(z.object({ deviceId: deviceIdSchema, region: regionIdSchema })),
  connected: z.int(),
  published: z.int(),
  /** Events each fault was applied to so far, by fault. */
  injected: z.record(z.string(), z.int()),
});
export type FleetControlResponse = z.infer<typeof fleetControlResponseSchema>;

export const setFaultsRequestSchema = z.strictObject({
  /** The machines to change; every machine of the fleet when left out. */
  devices: z.array(deviceIdSchema).min(1).max(CONTROL_DEVICES_MAX).optional(),
  /** Rates per event from now on; `{}` turns injection off. */
  rates: faultRatesSchema,
});
export type SetFaultsRequest = z.input<typeof setFaultsRequestSchema>;

export const setFaultsResponseSchema = z.object({ machines: z.int() });

export const setRatesRequestSchema = z.strictObject({
  /** The machines to change; every machine of the fleet when left out. */
  devices: z.array(deviceIdSchema).min(1).max(CONTROL_DEVICES_MAX).optional(),
  /** Customers this many times as often as each machine's usage profile says (1: as profiled, 0: no brews). */
  brewRate: z.number().min(0).max(1_000),
});
export type SetRatesRequest = z.input<typeof setRatesRequestSchema>;
