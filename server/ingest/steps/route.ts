import type { RegionId } from '../../../schema/regions.ts';
import { need, type Step } from '../pipeline.ts';

/**
 * The home region comes from the directory only, never from the payload or the topic. A region this
 * deployment has no store for is refused, never written somewhere else instead.
 */
export function route(hasRegion: (region: RegionId) => boolean): Step {
  return {
    name: 'route',
    run(ctx) {
      const { region } = need(ctx.device, 'device');
      if (!hasRegion(region)) return { reason: 'region_unavailable' };
      ctx.region = region;
      return undefined;
    },
  };
}
