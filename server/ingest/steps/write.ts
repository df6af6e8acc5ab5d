import type { RegionId } from '../../../schema/regions.ts';
import type { EventRow } from '../../store/types.ts';
import type { Refusal } from '../message.ts';
import { need, type Step } from '../pipeline.ts';
import type { RefusalReason } from '../reasons.ts';

/**
 * Resolves once the row's batch committed in the home-region store; only then may the message be
 * acknowledged. A row the store declined (its device's tombstone, found inside the transaction, or a
 * value the store refused) refuses the message with that reason.
 */
export function write(writeRow: (region: RegionId, row: EventRow) => Promise<RefusalReason | undefined>): Step {
  return {
    name: 'write',
    run(ctx) {
      return writeRow(need(ctx.region, 'region'), need(ctx.row, 'row')).then(refusedIfDeclined);
    },
  };
}

const refusedIfDeclined = (declined: RefusalReason | undefined): Refusal | undefined => (declined === undefined ? undefined : { reason: declined });
