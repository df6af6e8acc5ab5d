import { once } from 'node:events';
import { z } from 'zod';
import { deviceIdSchema } from '../schema/ids.ts';
import { eventKindSchema, type EventKind } from '../schema/events.ts';
import { createOwnerOnlyStream } from './owner-only-files.ts';

/**
 * One line of a recorded run (JSON Lines): when, relative to the start of the run, a machine handed
 * an event to its connection (after edge consent and any injected fault, before the offline buffer),
 * and the exact payload as a string, so a deliberately corrupted one replays byte for byte. What a
 * buffer or broker later did with it is not recorded: a replay meets its own broker afresh.
 */
export const recordedEventSchema = z.strictObject({
  t: z.number().min(0),
  deviceId: deviceIdSchema,
  kind: eventKindSchema,
  payload: z.string(),
});
export type RecordedEvent = z.infer<typeof recordedEventSchema>;

export interface RunRecorder {
  record(deviceId: string, kind: EventKind, payload: string): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** Writes to a new `path` (owner-only from the first byte: leaky runs record what they leak). Writes are buffered by the stream. */
export function recordRun(path: string, now: () => number = () => performance.now()): RunRecorder {
  const out = createOwnerOnlyStream(path);
  const start = now();
  let failure: Error | null = null;
  out.on('error', (error) => {
    failure = error;
  });
  return {
    record(deviceId, kind, payload) {
      if (failure !== null) return;
      const line: RecordedEvent = { t: Math.round((now() - start) * 1000) / 1000, deviceId, kind, payload };
      out.write(`${JSON.stringify(line)}\n`);
    },
    async close() {
      out.end();
      if (!out.closed && failure === null) await once(out, 'close').catch(() => {});
      if (failure !== null) throw failure;
    },
  };
}
