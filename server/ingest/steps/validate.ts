import { eventEnvelopeSchema } from '../../../schema/events.ts';
import type { Step } from '../pipeline.ts';

export const validate: Step = {
  name: 'validate',
  run(ctx) {
    const parsed = eventEnvelopeSchema.safeParse(ctx.json);
    if (!parsed.success) return { reason: 'schema_invalid' };
    ctx.event = parsed.data;
    return undefined;
  },
};
