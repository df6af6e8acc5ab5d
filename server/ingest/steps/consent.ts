import type { RegionId } from '../../../schema/regions.ts';
import { decide, latest, recordAt } from '../../consent/decide.ts';
import type { ConsentRow } from '../../store/types.ts';
import { need, type Step } from '../pipeline.ts';

/** Reads the ledger from the home region (via the service's cache) and applies the one decision. */
export function consent(ledger: (deviceId: string, region: RegionId) => Promise<readonly ConsentRow[]>): Step {
  return {
    name: 'consent',
    async run(ctx) {
      const event = need(ctx.event, 'event');
      const rows = await ledger(event.deviceId, need(ctx.region, 'region'));
      const decision = decide(event, recordAt(rows, new Date(event.ts)), latest(rows));
      if (!decision.allowed) return { reason: decision.reason };
      ctx.decision = decision;
      return undefined;
    },
  };
}
