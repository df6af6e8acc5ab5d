import { parseTopic } from '../../../schema/topics.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import { need, type Step } from '../pipeline.ts';

/**
 * The topic names the sender (the broker's ACL lets a device publish only under its own id); the
 * envelope must agree with it, and the device must be registered.
 */
export function identify(lookup: (deviceId: string) => Promise<DirectoryEntry | null>): Step {
  return {
    name: 'identify',
    async run(ctx) {
      const event = need(ctx.event, 'event');
      const topic = parseTopic(ctx.message.topic);
      if (!topic || topic.type !== 'event') return { reason: 'topic_invalid' };
      ctx.topic = topic;
      if (topic.deviceId !== event.deviceId) return { reason: 'device_mismatch' };
      if (topic.kind !== event.kind) return { reason: 'kind_mismatch' };
      const device = await lookup(topic.deviceId);
      if (!device) return { reason: 'unknown_device' };
      ctx.device = device;
      return undefined;
    },
  };
}
