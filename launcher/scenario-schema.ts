import { z } from 'zod';
import { COMMAND_RESULT_STATUSES, commandNameV1Schema } from '../schema/commands.ts';
import { consentCategoriesSchema } from '../schema/consent.ts';
import { eventKindSchema } from '../schema/events.ts';
import { regionIdSchema, regionListSchema } from '../schema/regions.ts';
import { faultRatesSchema } from '../schema/fault-rates.ts';
import { firmwareProfileSchema } from '../firmware-sim/machine-model.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import { usageProfileNameSchema } from '../firmware-sim/usage-profiles.ts';
import { REFUSAL_REASONS } from '../server/ingest/reasons.ts';

/**
 * A scenario file (`brewtel scenario run FILE`, YAML or JSON): a fleet, a timeline of steps and the
 * expectations that decide whether the run passed. Validated here, exported as JSON Schema next to
 * the wire types (`npm run schema:export`: brewtel-scenario.json).
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000 } as const;

/** `500ms`, `30s`, `2m`, or a number of seconds; in milliseconds after parsing. */
export const durationSchema = z.union([
  z
    .number()
    .min(0)
    .transform((seconds) => Math.round(seconds * 1_000)),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration such as 500ms, 30s or 2m')
    .transform((text) => {
      const [, value, unit] = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text) ?? [];
      return Math.round(Number(value) * UNIT_MS[unit as keyof typeof UNIT_MS]);
    }),
]);

const OFFSET_MS = { ...UNIT_MS, h: 3_600_000, d: 86_400_000 } as const;

/** A clock offset: `-40d`, `2h`, `90s`; in milliseconds after parsing, negative for behind. */
export const clockOffsetSchema = z
  .string()
  .regex(/^-?\d+(\.\d+)?(ms|s|m|h|d)$/, 'an offset such as -40d, 2h or 90s')
  .transform((text) => {
    const [, sign, value, unit] = /^(-?)(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text) ?? [];
    return (sign === '-' ? -1 : 1) * Math.round(Number(value) * OFFSET_MS[unit as keyof typeof OFFSET_MS]);
  });

/**
 * Which machines a step acts on: `all`, a named group of `devices`, `fleet` (the machines the
 * harness started with), or `region:eu` (every machine at home there).
 */
export const deviceSelectorSchema = z.string().regex(/^(all|fleet|region:[a-z]{2,8}|[a-z][a-z0-9-]{0,31})$/, 'all, fleet, region:<id> or a group name');

const countBoundsSchema = z
  .object({ min: z.int().min(0).optional(), max: z.int().min(0).optional(), equals: z.int().min(0).optional() })
  .refine((b) => b.min !== undefined || b.max !== undefined || b.equals !== undefined, 'give min, max or equals');

export const expectationSchema = z.union([
  z.strictObject({ stored: countBoundsSchema.and(z.object({ region: regionIdSchema.optional(), kind: eventKindSchema.optional() })) }),
  z.strictObject({ refused: countBoundsSchema.and(z.object({ reason: z.enum(REFUSAL_REASONS).optional() })) }),
  /** Events compliant machines kept to themselves because their consent did not allow them (edge consent). */
  z.strictObject({ suppressed: countBoundsSchema }),
  z.strictObject({
    commandResults: countBoundsSchema.and(z.object({ status: z.enum(COMMAND_RESULT_STATUSES).optional(), name: commandNameV1Schema.optional() })),
  }),
  z.strictObject({ residencyViolations: z.int().min(0) }),
  z.strictObject({ unconsentedRows: z.int().min(0) }),
  z.strictObject({ complianceOk: z.boolean() }),
]);
export type Expectation = z.output<typeof expectationSchema>;

export const stepActionSchema = z.union([
  z.strictObject({ consent: z.strictObject({ devices: deviceSelectorSchema, set: consentCategoriesSchema.partial() }) }),
  z.strictObject({ faults: z.strictObject({ devices: deviceSelectorSchema, rates: faultRatesSchema }) }),
  z.strictObject({
    command: z.strictObject({
      devices: deviceSelectorSchema,
      name: commandNameV1Schema,
      args: z.record(z.string(), z.unknown()).default({}),
      waitMs: z.int().min(0).max(60_000).default(10_000),
    }),
  }),
  /**
   * A region's store out of service `for` this long (its write lock held by another connection), or
   * the embedded broker down (`broker: true`, restarted on its port after it); the run goes on
   * meanwhile, so later steps see the other regions storing and this one catching up.
   */
  z.strictObject({
    outage: z
      .strictObject({ region: regionIdSchema.optional(), broker: z.literal(true).optional(), for: durationSchema })
      .refine((o) => (o.region === undefined) !== (o.broker === undefined), 'outage: give region or broker: true'),
  }),
  /** Customers of these machines `brews` times as often as their usage profile says from now on (0: none). */
  z.strictObject({ rate: z.strictObject({ devices: deviceSelectorSchema, brews: z.number().min(0).max(1_000) }) }),
  /** The clocks of these machines `by` this much off from now on (`-40d`: forty days behind). */
  z.strictObject({ clockSkew: z.strictObject({ devices: deviceSelectorSchema, by: clockOffsetSchema }) }),
  /** Nothing but the wait: lets the fleet run (expectations of the step are checked after it). */
  z.strictObject({ wait: durationSchema }),
]);
export type StepAction = z.output<typeof stepActionSchema>;

const storedCountSchema = z.strictObject({ count: z.int().min(1), region: regionIdSchema.optional(), kind: eventKindSchema.optional() });

/**
 * A condition a step waits for instead of a time: stored events reaching a count (`stored`), or
 * `storedMore` than there were when the step began (e.g. a region storing again after an outage).
 */
export const stepConditionSchema = z
  .strictObject({
    stored: storedCountSchema.optional(),
    storedMore: storedCountSchema.optional(),
    /** Messages the server refused reaching a count, of one reason or any. */
    refused: z.strictObject({ count: z.int().min(1), reason: z.enum(REFUSAL_REASONS).optional() }).optional(),
    timeout: durationSchema.default(30_000),
  })
  .refine((c) => [c.stored, c.storedMore, c.refused].filter((x) => x !== undefined).length === 1, 'after: give one of stored, storedMore, refused');

export const scenarioStepSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    /** Time since the fleet was up; steps run in file order, so a later `at` waits and an earlier one runs at once. */
    at: durationSchema.optional(),
    after: stepConditionSchema.optional(),
    do: stepActionSchema.optional(),
    expect: z.array(expectationSchema).default([]),
  })
  .refine((s) => s.at === undefined || s.after === undefined, 'a step has `at` or `after`, not both');
export type ScenarioStep = z.output<typeof scenarioStepSchema>;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(4_000).optional(),
  fleet: z
    .strictObject({
      /** Machines the stack starts with, round-robin over the regions. */
      machines: z.int().min(0).max(10_000).default(10),
      /** Of them, running the story's leaky firmware. */
      leaky: z.int().min(0).default(0),
      regions: regionListSchema.optional(),
      seed: z.int().default(1),
      /** Simulated time speed-up of the machines' clocks. */
      speed: z.number().positive().max(1_000_000).default(3_600),
      mqttVersion: mqttVersionSchema.default(DEFAULT_MQTT_VERSION),
    })
    .prefault({}),
  /** Named groups of further machines, provisioned with the consent given, each its own simulated machine. */
  devices: z
    .record(
      z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a group name: lower case letters, digits, dashes')
        .refine((n) => !['all', 'fleet'].includes(n), 'all and fleet are reserved'),
      z.strictObject({
        region: regionIdSchema,
        count: z.int().min(1).max(1_000).default(1),
        consent: consentCategoriesSchema.optional(),
        /** `leaky`: the story's firmware (ignores consent, leaks owner data); default compliant. */
        profile: firmwareProfileSchema.optional(),
        /** When customers come: `home`, `office` or `cafe`. */
        usage: usageProfileNameSchema.optional(),
        mqttVersion: mqttVersionSchema.optional(),
      }),
    )
    .default({}),
  steps: z.array(scenarioStepSchema).default([]),
  /** Checked once the last step ran. */
  expect: z.array(expectationSchema).default([]),
  /** The whole run is cut off after this long (an unmet expectation then). */
  timeout: durationSchema.default(120_000),
});
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
