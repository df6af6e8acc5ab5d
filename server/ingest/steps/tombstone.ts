import type { RegionId } from '../../../schema/regions.ts';
import { need, type Step } from '../pipeline.ts';

/**
 * An erased device (owner erasure or device deletion) left a tombstone in its home region: its late
 * or redelivered events are refused with a stable reason instead of being stored again.
 */
export function tombstone(erased: (region: RegionId, deviceId: string) => Promise<boolean>): Step {
  return {
    name: 'tombstone',
    async run(ctx) {
      const region = need(ctx.region, 'region');
      if (await erased(region, need(ctx.device, 'device').deviceId)) return { reason: 'device_erased' };
      return undefined;
    },
  };
}
