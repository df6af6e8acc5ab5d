import type { Step } from '../pipeline.ts';

export const decode: Step = {
  name: 'decode',
  run(ctx) {
    try {
      ctx.json = JSON.parse(ctx.message.payload.toString('utf8'));
      return undefined;
    } catch {
      return { reason: 'malformed_json' };
    }
  },
};
