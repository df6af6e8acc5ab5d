/**
 * Counts the cluster messages a node never heard. Redis pub/sub delivers at most once: a subscriber
 * that Redis disconnects (its output buffer past `client-output-buffer-limit pubsub`, a restart, a
 * network cut) misses whatever was published until ioredis has resubscribed, and nothing tells it
 * so. Every node numbers what it publishes, 1, 2, 3, …; a receiver that sees sender S jump from n
 * to n + k knows k − 1 messages of S were lost on the way to it.
 *
 * Senders are keyed by their emitter's random id, so a restarted node is a new sender; one not
 * heard from for `forgetAfterMs` is forgotten (a stopped node's entry would otherwise stay forever).
 */
export interface SequenceGaps {
  /** The number of messages of `sender` missed just before this one (0 when none). */
  heard(sender: string, sequence: number): number;
  /** Forgets the senders not heard from since `forgetAfterMs` before `now`. */
  forgetQuiet(now: number): void;
  readonly senders: number;
}

export function sequenceGaps(forgetAfterMs: number): SequenceGaps {
  const last = new Map<string, { sequence: number; heardAt: number }>();
  return {
    heard(sender, sequence) {
      const seen = last.get(sender);
      last.set(sender, { sequence, heardAt: Date.now() });
      // A sender heard for the first time (this node just started, or it was forgotten) starts
      // anywhere; a sequence at or below the last one cannot come from Redis pub/sub (one
      // connection per sender, delivered in order), so only a step forward counts.
      if (seen === undefined || sequence <= seen.sequence) return 0;
      return sequence - seen.sequence - 1;
    },
    forgetQuiet(now) {
      for (const [sender, seen] of last) if (now - seen.heardAt > forgetAfterMs) last.delete(sender);
    },
    get senders() {
      return last.size;
    },
  };
}
