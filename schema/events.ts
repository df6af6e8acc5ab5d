import { z } from 'zod';
import { deviceIdSchema, eventIdSchema } from './ids.ts';
import type { ConsentCategoryName } from './consent.ts';

/** The envelope version. Changing the wire format means a new version, never an edit of this one. */
export const ENVELOPE_VERSION = 1 as const;

export const EVENT_KINDS = ['brew', 'location', 'payment', 'status', 'fault'] as const;
export const eventKindSchema = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof eventKindSchema>;

export const RECIPES = ['espresso', 'lungo', 'americano', 'cappuccino', 'latte', 'flat_white', 'hot_water'] as const;
export const recipeSchema = z.enum(RECIPES);
export type Recipe = z.infer<typeof recipeSchema>;

export const MACHINE_PHASES = [
  'off', 'heating', 'idle', 'grinding', 'brewing', 'frothing', 'dispensing', 'rinsing', 'descaling', 'fault',
] as const;
export const machinePhaseSchema = z.enum(MACHINE_PHASES);
export type MachinePhase = z.infer<typeof machinePhaseSchema>;

export const brewBodySchema = z.strictObject({
  recipe: recipeSchema,
  doseG: z.number().min(0).max(30),
  waterMl: z.number().min(0).max(600),
  milkMl: z.number().min(0).max(400),
  waterTempC: z.number().min(60).max(100),
  pressureBar: z.number().min(0).max(20),
  durationMs: z.int().min(0).max(600_000),
  outcome: z.enum(['ok', 'aborted']),
});

export const locationBodySchema = z.strictObject({
  /** What the device applied; `none` is never sent, the event is simply not published. */
  precision: z.enum(['coarse', 'exact']),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  accuracyM: z.number().positive().max(1_000_000),
});

/** Card numbers (PANs) are 12 to 19 digits; a token must not contain a run that could be one. */
const PAN_LIKE_DIGITS = /\d{12,}/;

/**
 * Only a payment token ever leaves the machine: the token may not carry a card-number-like digit run,
 * and the object is strict, so a card number cannot ride along in another field.
 */
export const paymentBodySchema = z.strictObject({
  token: z
    .string()
    .regex(/^tok_[A-Za-z0-9]{8,64}$/, 'a payment token is tok_ followed by 8-64 letters or digits')
    .refine((token) => !PAN_LIKE_DIGITS.test(token), 'a payment token must not contain a card number'),
  amountMinor: z.int().min(0).max(10_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code'),
  method: z.enum(['card', 'mobile', 'subscription']),
  status: z.enum(['authorized', 'captured', 'declined', 'refunded']),
});

export const statusBodySchema = z.strictObject({
  phase: machinePhaseSchema,
  waterTankMl: z.number().min(0).max(5_000),
  beansG: z.number().min(0).max(2_000),
  milkMl: z.number().min(0).max(3_000),
  groundsBinCount: z.int().min(0).max(100),
  cupsUntilDescale: z.int().min(0).max(10_000),
  boilerTempC: z.number().min(-20).max(160),
});

export const FAULT_CODES = [
  'water_empty', 'beans_empty', 'milk_empty', 'grounds_full', 'bean_jam', 'overheat', 'descale_due',
] as const;
export const faultBodySchema = z.strictObject({
  code: z.enum(FAULT_CODES),
  severity: z.enum(['warning', 'error']),
  cleared: z.boolean(),
});

const envelopeFields = {
  v: z.literal(ENVELOPE_VERSION),
  id: eventIdSchema,
  deviceId: deviceIdSchema,
  /** Device clock at the moment of the event (the device may be skewed; the server keeps its own receipt time). */
  ts: z.iso.datetime({ offset: true }),
  /** Per-device sequence number, monotonically increasing across reboots. */
  seq: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** The consent record version the device applied when it produced this event (0 = none received yet). */
  consentVersion: z.int().min(0),
};

export const brewEventSchema = z.strictObject({ ...envelopeFields, kind: z.literal('brew'), body: brewBodySchema });
export const locationEventSchema = z.strictObject({ ...envelopeFields, kind: z.literal('location'), body: locationBodySchema });
export const paymentEventSchema = z.strictObject({ ...envelopeFields, kind: z.literal('payment'), body: paymentBodySchema });
export const statusEventSchema = z.strictObject({ ...envelopeFields, kind: z.literal('status'), body: statusBodySchema });
export const faultEventSchema = z.strictObject({ ...envelopeFields, kind: z.literal('fault'), body: faultBodySchema });

export const eventEnvelopeSchema = z.discriminatedUnion('kind', [
  brewEventSchema,
  locationEventSchema,
  paymentEventSchema,
  statusEventSchema,
  faultEventSchema,
]);
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
export type EventOfKind<K extends EventKind> = Extract<EventEnvelope, { kind: K }>;
export type EventBody<K extends EventKind> = EventOfKind<K>['body'];

/** Which consent category an event kind needs before it may be published or stored. */
export const CONSENT_CATEGORY_OF_KIND: Readonly<Record<EventKind, ConsentCategoryName>> = Object.freeze({
  brew: 'usage',
  location: 'location',
  payment: 'payment',
  status: 'diagnostics',
  fault: 'diagnostics',
});
