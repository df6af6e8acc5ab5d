import type { RegionId } from '../../../schema/regions.ts';
import type { Refusal } from '../message.ts';
import { need, type Answer, type Step, whenAnswered } from '../pipeline.ts';

/**
 * An erased device (owner erasure or device deletion) left a tombstone in its home region: its late
 * or redelivered events are refused with a stable reason instead of being stored again.
 */
export function tombstone(erased: (region: RegionId, deviceId: string) => Answer<boolean>): Step {
  return {
    name: 'tombstone',
    run(ctx) {
      const region = need(ctx.region, 'region');
      return whenAnswered(erased(region, need(ctx.device, 'device').deviceId), refusedIfErased, ctx);
    },
  };
}

const refusedIfErased = (erased: boolean): Refusal | undefined => (erased ? { reason: 'device_erased' } : undefined);
