import { z } from 'zod';
import { consentRecordSchema } from './consent.ts';
import { recipeSchema } from './events.ts';

/**
 * Commands, cloud -> device, on `coffee/v1/{deviceId}/cmd/{name}` (QoS 1, not retained). The topic
 * names the command; the payload is one JSON envelope. v1 of the topic grammar has no reply topic:
 * the effect of a command shows in the device's later events (consent version, phase, brew values).
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

export type CommandEnvelope<N extends CommandName = CommandName> = N extends CommandName
  ? z.infer<(typeof commandEnvelopeSchemas)[N]> & { name: N }
  : never;

export type CommandParse = { ok: true; command: CommandEnvelope } | { ok: false; code: 'command_unknown' | 'command_malformed' };

/** Reads a command from its topic's name and raw payload; never throws. */
export function parseCommand(name: string, payload: Uint8Array | string): CommandParse {
  const known = commandNameV1Schema.safeParse(name);
  if (!known.success) return { ok: false, code: 'command_unknown' };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload));
  } catch {
    return { ok: false, code: 'command_malformed' };
  }
  const parsed = commandEnvelopeSchemas[known.data].safeParse(json);
  if (!parsed.success) return { ok: false, code: 'command_malformed' };
  return { ok: true, command: { ...parsed.data, name: known.data } as CommandEnvelope };
}
