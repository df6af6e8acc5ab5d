import type { RegionId } from '../../../schema/regions.ts';
import { eventEnvelopeSchema } from '../../../schema/events.ts';
import { latest, recordAt } from '../../consent/decide.ts';
import type { ConsentRow } from '../../store/types.ts';
import { precisionFindings, schemaFindings, stricter } from '../explain-schema.ts';
import type { Finding } from '../../../schema/refusal-explanation.ts';
import { need, type Answer, type Step } from '../pipeline.ts';

type Ledger = (deviceId: string, region: RegionId) => Answer<readonly ConsentRow[]>;

/**
 * The contract's schema, strict. A message that fails it is refused with the paths that failed; a
 * location message also with the fields that say more than its sender's consent allows (the leaky
 * firmware's exact fix), so the explanation tells the whole story, not only the first rule it broke.
 */
export function validate(ledger: Ledger): Step {
  return {
    name: 'validate',
    run(ctx) {
      const parsed = eventEnvelopeSchema.safeParse(ctx.json);
      if (parsed.success) {
        ctx.event = parsed.data;
        return undefined;
      }
      const findings = schemaFindings(parsed.error.issues, ctx.json);
      const json = ctx.json as { kind?: unknown; ts?: unknown } | null;
      if (typeof json !== 'object' || json === null || json.kind !== 'location') return { reason: 'schema_invalid', findings };
      return withPrecision(ledger, ctx.region, need(ctx.device, 'device').deviceId, json, findings);
    },
  };
}

async function withPrecision(ledger: Ledger, region: RegionId | undefined, deviceId: string, json: { ts?: unknown }, findings: Finding[]) {
  const rows = await ledger(deviceId, need(region, 'region'));
  const now = latest(rows)?.categories.location ?? 'none';
  const sentAt = typeof json.ts === 'string' ? Date.parse(json.ts) : Number.NaN;
  // Without a readable time only the consent in force now can be compared.
  const allowed = Number.isNaN(sentAt) ? now : stricter(recordAt(rows, new Date(sentAt))?.categories.location ?? 'none', now);
  return { reason: 'schema_invalid' as const, findings: [...findings, ...precisionFindings(json, allowed)] };
}
