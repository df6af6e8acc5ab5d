import { parseTopic } from '../../../schema/topics.ts';
import type { DirectoryEntry } from '../../store/types.ts';
import type { IngestContext, Refusal } from '../message.ts';
import { type Answer, type Step, whenAnswered } from '../pipeline.ts';

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
      return whenAnswered(lookup(topic.deviceId), registered, ctx);
    },
  };
}

function registered(device: DirectoryEntry | null, ctx: IngestContext): Refusal | undefined {
  if (!device) return { reason: 'unknown_device' };
  ctx.device = device;
  return undefined;
}
