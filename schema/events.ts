import { z } from 'zod';
import { panLikePaths } from './card-data.ts';
import { deviceIdSchema, eventIdSchema } from './ids.ts';
import type { ConsentCategoryName } from './consent.ts';

/** The envelope version. Changing the wire format means a new version, never an edit of this one. */
export const ENVELOPE_VERSION = 1 as const;

/**
 * MQTT 5 user properties on every event a device publishes (v5 §3.3.2.3.7): the envelope's version and
 * the consent version the device applied, as decimal strings, so a broker rule or a consumer can route
 * without parsing JSON. The envelope stays the source of truth; ingest judges it, not these.
 */
export const EVENT_USER_PROPERTIES = { contractVersion: 'contract-version', consentVersion: 'consent-version' } as const;

export const EVENT_KINDS = ['brew', 'location', 'payment', 'status', 'fault'] as const;
export const eventKindSchema = z.enum(EVENT_KINDS);
export type EventKind = z.infer<typeof eventKindSchema>;

export const RECIPES = ['espresso', 'lungo', 'americano', 'cappuccino', 'latte', 'flat_white', 'hot_water'] as const;
export const recipeSchema = z.enum(RECIPES);
export type Recipe = z.infer<typeof recipeSchema>;

export const MACHINE_PHASES = ['off', 'heating', 'idle', 'grinding', 'brewing', 'frothing', 'dispensing', 'rinsing', 'descaling', 'fault'] as const;
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

/**
 * A payment token: `tok_` and 16 to 32 base62 characters, of which at most 8 are digits, so no card
 * number fits in one however it is spread among the letters (a processor's token is opaque; ours
 * are random). Anything else is refused.
 */
export const PAYMENT_TOKEN_PATTERN = /^tok_[A-Za-z0-9]{16,32}$/;
export const PAYMENT_TOKEN_MAX_DIGITS = 8;
const digitCount = (text: string): number => text.replace(/[^0-9]/g, '').length;

/**
 * Only a payment token ever leaves the machine: the token has a strict form that cannot hold a card
 * number, and the object is strict, so a card number cannot ride along in another field (and every
 * event's strings are checked for card-like digits as well, see withoutCardData below).
 */
export const paymentBodySchema = z.strictObject({
  token: z
    .string()
    .regex(PAYMENT_TOKEN_PATTERN, 'a payment token is tok_ followed by 16-32 letters or digits')
    .refine((token) => digitCount(token) <= PAYMENT_TOKEN_MAX_DIGITS, `a payment token has at most ${PAYMENT_TOKEN_MAX_DIGITS} digits`),
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

export const FAULT_CODES = ['water_empty', 'beans_empty', 'milk_empty', 'grounds_full', 'bean_jam', 'overheat', 'descale_due'] as const;
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

/**
 * Envelope fields whose grammar fixes them to non-text that carries digits by design: the event id
 * (hex; a random UUID often holds 12 near decimal digits), the timestamp (all digits, and bounded by
 * the server's clock window) and the device id (the topic's, minted by the registry).
 */
const NOT_FREE_TEXT = new Set(['id', 'ts', 'deviceId']);
const notFreeText = (path: readonly (string | number)[]): boolean => path.length === 1 && NOT_FREE_TEXT.has(String(path[0]));

/** The paths of an event's string fields that look like a card number (see card-data.ts). */
export const cardDataPaths = (event: unknown): (string | number)[][] => panLikePaths(event, notFreeText);

/** Contract-wide: no string field of an event (today's or one added later) may look like a card number. */
function withoutCardData<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((event, ctx) => {
    for (const path of cardDataPaths(event)) ctx.addIssue({ code: 'custom', message: 'a string that looks like a card number', path });
  });
}

export const brewEventSchema = withoutCardData(z.strictObject({ ...envelopeFields, kind: z.literal('brew'), body: brewBodySchema }));
export const locationEventSchema = withoutCardData(z.strictObject({ ...envelopeFields, kind: z.literal('location'), body: locationBodySchema }));
export const paymentEventSchema = withoutCardData(z.strictObject({ ...envelopeFields, kind: z.literal('payment'), body: paymentBodySchema }));
export const statusEventSchema = withoutCardData(z.strictObject({ ...envelopeFields, kind: z.literal('status'), body: statusBodySchema }));
export const faultEventSchema = withoutCardData(z.strictObject({ ...envelopeFields, kind: z.literal('fault'), body: faultBodySchema }));

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
