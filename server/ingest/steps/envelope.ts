import { need, type Step } from '../pipeline.ts';

/** The envelope must agree with the topic it came on: the same sender and the same kind. */
export const envelope: Step = {
  name: 'envelope',
  run(ctx) {
    const event = need(ctx.event, 'event');
    const topic = need(ctx.topic, 'topic');
    if (topic.deviceId !== event.deviceId) return { reason: 'device_mismatch' };
    if (topic.kind !== event.kind) return { reason: 'kind_mismatch' };
    return undefined;
  },
};
