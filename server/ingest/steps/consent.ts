import type { RegionId } from '../../../schema/regions.ts';
import { CONSENT_CATEGORY_OF_KIND } from '../../../schema/events.ts';
import { NO_CONSENT } from '../../../schema/consent.ts';
import { decide, latest, recordAt } from '../../consent/decide.ts';
import type { ConsentRow } from '../../store/types.ts';
import type { Finding, Problem } from '../../../schema/refusal-explanation.ts';
import type { IngestContext, Refusal } from '../message.ts';
import { need, type Answer, type Step, whenAnswered } from '../pipeline.ts';

/** Which category the event needed, and whether it was missing at the event's time, now, or both. */
function consentFinding(kind: keyof typeof CONSENT_CATEGORY_OF_KIND, then: ConsentRow | null, now: ConsentRow | null): Finding {
  const category = CONSENT_CATEGORY_OF_KIND[kind];
  const given = (row: ConsentRow | null): boolean => {
    const value = (row?.categories ?? NO_CONSENT)[category];
    return value !== false && value !== 'none';
  };
  const problem: Problem = given(then) ? 'withdrawn since the event' : given(now) ? "not consented at the event's time" : 'not consented';
  return { path: `consent.${category}`, problem };
}

/** Reads the ledger from the home region (via the service's cache) and applies the one decision. */
export function consent(ledger: (deviceId: string, region: RegionId) => Answer<readonly ConsentRow[]>): Step {
  return {
    name: 'consent',
    run(ctx) {
      const event = need(ctx.event, 'event');
      return whenAnswered(ledger(event.deviceId, need(ctx.region, 'region')), decideOn, ctx);
    },
  };
}

function decideOn(rows: readonly ConsentRow[], ctx: IngestContext): Refusal | undefined {
  const event = need(ctx.event, 'event');
  const then = recordAt(rows, new Date(event.ts));
  const now = latest(rows);
  const decision = decide(event, then, now);
  if (!decision.allowed) return { reason: decision.reason, findings: [consentFinding(event.kind, then, now)] };
  ctx.decision = decision;
  return undefined;
}
