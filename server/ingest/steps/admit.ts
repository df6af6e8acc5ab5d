import type { RegionAdmission } from '../region-admission.ts';
import { need, type Step } from '../pipeline.ts';
import { IngestDeferredError } from '../retry.ts';

/** Takes the message once its region has room, or leaves it at the broker while that region's store fails (see RegionAdmission). */
export function admit(admission: RegionAdmission): Step {
  return {
    name: 'admit',
    run(ctx) {
      const region = need(ctx.region, 'region');
      if (admission.tryEnter(region)) {
        ctx.admitted = region;
        return undefined;
      }
      return admission.admit(region).then((inside) => {
        if (!inside) throw new IngestDeferredError();
        ctx.admitted = region;
        return undefined;
      });
    },
  };
}
