import { parseTopic } from '../../../schema/topics.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import type { IngestContext, Refusal } from '../message.ts';
import type { Answer, Step } from '../pipeline.ts';

/**
 * The topic names the sender (the broker's ACL lets a device publish only under its own id), and the
 * device must be registered. Runs before anything reads the payload, so that the sender's tombstone
 * can be checked first (see tombstone.ts).
 */
export function identify(lookup: (deviceId: string) => Answer<DirectoryEntry | null>): Step {
  return {
    name: 'identify',
    run(ctx) {
      const topic = parseTopic(ctx.message.topic);
      if (topic?.type !== 'event') return { reason: 'topic_invalid' };
      ctx.topic = topic;
      const device = lookup(topic.deviceId);
      return device instanceof Promise ? device.then((found) => registered(ctx, found)) : registered(ctx, device);
    },
  };
}

function registered(ctx: IngestContext, device: DirectoryEntry | null): Refusal | undefined {
  if (!device) return { reason: 'unknown_device' };
  ctx.device = device;
  return undefined;
}
