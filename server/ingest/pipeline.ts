import type { Logger } from 'pino';
import type { IngestContext, Refusal } from './message.ts';
import { IngestAbortedError } from './retry.ts';

/** What a step's source answers: at once when memory holds it, as a promise when a store must be asked. */
export type Answer<T> = T | Promise<T>;

/**
 * `next(value, ctx)` on an answer: at once when it is there, after it when it is a promise. The
 * context is passed along rather than closed over, so a hit (every event, nearly) allocates nothing.
 */
export function whenAnswered<T, R>(answer: Answer<T>, next: (value: T, ctx: IngestContext) => R, ctx: IngestContext): Answer<R> {
  return answer instanceof Promise ? answer.then((value) => next(value, ctx)) : next(answer, ctx);
}

/**
 * One named step of ingest. It reads what earlier steps put on the context, adds its own findings,
 * and returns a refusal to stop the message there.
 */
export interface Step {
  readonly name: string;
  run(ctx: IngestContext): Answer<Refusal | undefined>;
}

/** For a step that needs an earlier step's finding; a missing one means the pipeline is misassembled. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline misassembled: ${what} missing`);
  return value;
}

/**
 * Runs the steps in order until one refuses. A step that throws (a bug) refuses the message with
 * `internal_error` instead of crashing or wedging the connection; only a closing ingest propagates.
 */
export async function runPipeline(steps: readonly Step[], ctx: IngestContext, logger: Logger): Promise<Refusal | undefined> {
  for (const step of steps) {
    try {
      const result = step.run(ctx);
      // Most steps answer synchronously; awaiting only a promise spares each of them a microtask turn.
      const refusal = result instanceof Promise ? await result : result;
      if (refusal) return refusal;
    } catch (err) {
      if (err instanceof IngestAbortedError) throw err;
      logger.error({ err, step: step.name }, 'ingest step failed');
      return { reason: 'internal_error', findings: [{ path: `step.${step.name}`, problem: 'internal error' }] };
    }
  }
  return undefined;
}
