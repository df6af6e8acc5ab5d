import { z } from 'zod';
import { consentRecordSchema } from './consent.ts';
import { recipeSchema } from './events.ts';
import { commandNameSchema } from './topics.ts';

/**
 * Commands, cloud -> device, on `coffee/v1/{deviceId}/cmd/{name}` (QoS 1, not retained). The topic
 * names the command; the payload is one JSON envelope. The device answers every command whose id it
 * can read with one result envelope on `coffee/v1/{deviceId}/cmd-result/{name}` (QoS 1, not
 * retained). That reply topic is an additive extension of v1: consumers that predate it never
 * subscribe to it and see nothing new.
 */
export const COMMAND_VERSION = 1 as const;

export const COMMAND_NAMES = ['apply-consent', 'wipe-local-data', 'reboot', 'set-recipe'] as const;
export const commandNameV1Schema = z.enum(COMMAND_NAMES);
export type CommandName = z.infer<typeof commandNameV1Schema>;

const envelopeFields = {
  v: z.literal(COMMAND_VERSION),
  /** Issuer-generated; a device acts on an id once, so a QoS 1 redelivery changes nothing. */
  id: z.uuid(),
  issuedAt: z.iso.datetime({ offset: true }),
};

/** Per-recipe adjustments on one machine; anything left out keeps the factory value. */
export const recipeSettingsSchema = z.strictObject({
  recipe: recipeSchema,
  doseG: z.number().min(0).max(30).optional(),
  waterMl: z.number().min(0).max(600).optional(),
  milkMl: z.number().min(0).max(400).optional(),
  waterTempC: z.number().min(60).max(100).optional(),
});
export type RecipeSettings = z.infer<typeof recipeSettingsSchema>;

export const COMMAND_ARGS = {
  /** The same record as the retained consent topic carries, for a push that must not wait for a resubscribe. */
  'apply-consent': z.strictObject({ record: consentRecordSchema }),
  /** Erase what the device holds about its owner and everything not yet sent; consent is forgotten too. */
  'wipe-local-data': z.strictObject({}),
  reboot: z.strictObject({}),
  'set-recipe': recipeSettingsSchema,
} as const satisfies Record<CommandName, z.ZodType>;

export const commandEnvelopeSchemas = {
  'apply-consent': z.strictObject({ ...envelopeFields, args: COMMAND_ARGS['apply-consent'] }),
  'wipe-local-data': z.strictObject({ ...envelopeFields, args: COMMAND_ARGS['wipe-local-data'] }),
  reboot: z.strictObject({ ...envelopeFields, args: COMMAND_ARGS.reboot }),
  'set-recipe': z.strictObject({ ...envelopeFields, args: COMMAND_ARGS['set-recipe'] }),
} as const;

export type CommandEnvelope<N extends CommandName = CommandName> = N extends CommandName ? z.infer<(typeof commandEnvelopeSchemas)[N]> & { name: N } : never;

export type CommandParse =
  | { ok: true; command: CommandEnvelope }
  /** `commandId` when the payload at least carried a readable id, so the refusal can be answered. */
  | { ok: false; code: 'command_unknown' | 'command_malformed'; commandId?: string };

const idOnlySchema = z.object({ id: envelopeFields.id });

/** Reads a command from its topic's name and raw payload; never throws. */
export function parseCommand(name: string, payload: Uint8Array | string): CommandParse {
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    return { ok: false, code: 'command_malformed' };
  }
  const id = idOnlySchema.safeParse(json);
  const commandId = id.success ? { commandId: id.data.id } : {};
  const known = commandNameV1Schema.safeParse(name);
  if (!known.success) return { ok: false, code: 'command_unknown', ...commandId };
  const parsed = commandEnvelopeSchemas[known.data].safeParse(json);
  if (!parsed.success) return { ok: false, code: 'command_malformed', ...commandId };
  return { ok: true, command: { ...parsed.data, name: known.data } as CommandEnvelope };
}

export const COMMAND_RESULT_STATUSES = ['ok', 'rejected', 'failed'] as const;

/**
 * Why a command was not simply applied. Known codes: `duplicate` (with `ok`: that id was already
 * applied), `consent_stale` (the record is not newer than the one held), `command_unknown`,
 * `command_malformed`, `command_failed`. A code is a stable snake_case word, so firmware may add
 * codes without breaking a server that does not know them yet.
 */
export const commandResultCodeSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/);

/** Device -> cloud on `coffee/v1/{deviceId}/cmd-result/{name}`: what became of one command. */
export const commandResultSchema = z.strictObject({
  v: z.literal(COMMAND_VERSION),
  /** The `id` of the command this answers. */
  commandId: envelopeFields.id,
  /** The command name from the topic it came on (also an unknown one, to say it is unknown). */
  name: commandNameSchema,
  status: z.enum(COMMAND_RESULT_STATUSES),
  code: commandResultCodeSchema.optional(),
  /** Device clock when it answered. */
  at: z.iso.datetime({ offset: true }),
});
export type CommandResult = z.infer<typeof commandResultSchema>;
export type CommandResultStatus = CommandResult['status'];
