import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import { parseTopic } from '../../schema/topics.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { ServerConfig } from '../config.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { DirectoryEntry, EventRow, RefusalRow, Stores } from '../store/types.ts';
import { BatchWriter } from './batch-writer.ts';
import type { IngestContext, IngestMessage, IngestOutcome, Refusal } from './message.ts';
import { runPipeline, type Step } from './pipeline.ts';
import { IngestAbortedError, retryUntilAborted } from './retry.ts';
import type { IngestStats } from './stats.ts';
import { consent } from './steps/consent.ts';
import { decode } from './steps/decode.ts';
import { identify } from './steps/identify.ts';
import { minimise } from './steps/minimise.ts';
import { route } from './steps/route.ts';
import { validate } from './steps/validate.ts';
import { write } from './steps/write.ts';

export interface IngestDeps {
  config: ServerConfig['ingest'];
  stores: Stores;
  directory: DirectoryCache;
  consent: ConsentService;
  stats: IngestStats;
  metrics: Metrics;
  logger: Logger;
}

/** Source-independent ingest: a message in, a committed row or a recorded refusal out. */
export interface Ingest {
  /** Resolves when the message may be acknowledged; rejects (IngestAbortedError) when it must not be. */
  handle(message: IngestMessage): Promise<IngestOutcome>;
  /** Stops taking messages and lets in-flight batches commit (bounded by config.drainTimeoutMs). */
  close(): Promise<void>;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { config, stores, stats, metrics, logger } = deps;
  const abort = new AbortController();
  const retry = (target: string) => ({
    initialMs: config.retryInitialMs,
    maxMs: config.retryMaxMs,
    onError(err: unknown, attempt: number) {
      metrics.storeRetries.inc({ target });
      logger.warn({ err, target, attempt }, 'store call failed; retrying');
    },
  });
  const persistently = <T>(target: string, fn: () => Promise<T>): Promise<T> =>
    retryUntilAborted(fn, { ...retry(target), signal: abort.signal });

  const batching = { batchMax: config.batchMax, lingerMs: config.lingerMs };
  const eventWriters = new Map<RegionId, BatchWriter<EventRow>>();
  const refusalWriters = new Map<RegionId, BatchWriter<RefusalRow>>();
  for (const [region, store] of stores.regions) {
    eventWriters.set(region, new BatchWriter<EventRow>({
      ...batching,
      retry: retry(`events:${region}`),
      flush: async (rows) => stats.stored(region, await store.insertEvents(rows)),
      observe: (seconds) => metrics.batchSeconds.observe({ region, target: 'events' }, seconds),
    }));
    refusalWriters.set(region, new BatchWriter<RefusalRow>({
      ...batching,
      retry: retry(`refusals:${region}`),
      flush: (rows) => store.insertRefusals(rows),
      observe: (seconds) => metrics.batchSeconds.observe({ region, target: 'refusals' }, seconds),
    }));
  }
  const unroutedRefusals = new BatchWriter<RefusalRow>({
    ...batching,
    retry: retry('refusals:directory'),
    flush: (rows) => stores.directory.insertRefusals(rows),
  });

  const hasRegion = (region: RegionId): boolean => stores.regions.has(region);
  const lookup = (deviceId: string): Promise<DirectoryEntry | null> =>
    persistently('directory', () => deps.directory.lookup(deviceId));

  const steps: readonly Step[] = [
    decode,
    validate,
    identify(lookup),
    route(hasRegion),
    consent((deviceId, region) => persistently(`consent:${region}`, () => deps.consent.ledger(deviceId, region))),
    minimise,
    write((region, row) => eventWriters.get(region)!.write(row)),
  ];

  /** Refusals go to the sender's home region (the topic names the sender), else to the directory, without payload. */
  async function recordRefusal(ctx: IngestContext, refusal: Refusal): Promise<void> {
    const topic = ctx.topic ?? parseTopic(ctx.message.topic);
    const deviceId = topic?.deviceId ?? null;
    let region: RegionId | null = ctx.device?.region ?? null;
    if (!ctx.device && deviceId && refusal.reason !== 'unknown_device') region = (await lookup(deviceId))?.region ?? null;
    if (region && !hasRegion(region)) region = null;
    const row: RefusalRow = {
      receivedAt: ctx.message.receivedAt,
      reason: refusal.reason,
      deviceId,
      eventId: ctx.event?.id ?? null,
      kind: ctx.event?.kind ?? (topic?.type === 'event' ? topic.kind : null),
    };
    await (region ? refusalWriters.get(region)! : unroutedRefusals).write(row);
    stats.refused(region, refusal.reason);
    logger.debug({ reason: refusal.reason, region, deviceId, eventId: row.eventId }, 'message refused');
  }

  return {
    async handle(message) {
      if (abort.signal.aborted) throw new IngestAbortedError();
      const ctx: IngestContext = { message };
      const refusal = await runPipeline(steps, ctx, logger);
      if (refusal) {
        await recordRefusal(ctx, refusal);
        return { status: 'refused', reason: refusal.reason };
      }
      return { status: 'stored', region: ctx.region!, eventId: ctx.event!.id };
    },
    async close() {
      const writers = [...eventWriters.values(), ...refusalWriters.values(), unroutedRefusals];
      await Promise.all(writers.map((w) => w.close(config.drainTimeoutMs)));
      abort.abort();
    },
  };
}
