import type { RegionId } from '../../../schema/regions.ts';
import type { EventRow } from '../../store/types.ts';
import { need, type Step } from '../pipeline.ts';

/** Resolves once the row's batch committed in the home-region store; only then may the message be acknowledged. */
export function write(writeRow: (region: RegionId, row: EventRow) => Promise<void>): Step {
  return {
    name: 'write',
    async run(ctx) {
      await writeRow(need(ctx.region, 'region'), need(ctx.row, 'row'));
      return undefined;
    },
  };
}
