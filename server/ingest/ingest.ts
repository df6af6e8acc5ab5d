import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import { parseTopic } from '../../schema/topics.ts';
import type { ConsentService } from '../consent/consent-service.ts';
import type { ServerConfig } from '../config.ts';
import type { DirectoryCache } from '../devices/directory-cache.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { TombstoneCache } from '../privacy/tombstones.ts';
import type { DirectoryEntry, EventRow, QuarantinedRow, RefusalRow, Stores } from '../store/types.ts';
import { classifyStoreError, storeErrorCode } from '../store/store-errors.ts';
import { BatchWriter } from './batch-writer.ts';
import { explain } from './explanation.ts';
import type { IngestContext, IngestMessage, IngestOutcome, Refusal } from './message.ts';
import { runPipeline, type Answer } from './pipeline.ts';
import { QuarantineBudget } from './quarantine-budget.ts';
import { PAYLOAD_NEVER_KEPT } from './reasons.ts';
import { RegionAdmission } from './region-admission.ts';
import { IngestAbortedError, retryUntilAborted, type RetryOptions } from './retry.ts';
import type { IngestStats } from './stats.ts';
import { ingestSteps } from './steps/order.ts';

export interface IngestDeps {
  config: ServerConfig['ingest'];
  stores: Stores;
  directory: DirectoryCache;
  consent: ConsentService;
  stats: IngestStats;
  metrics: Metrics;
  logger: Logger;
  /** Which devices were erased (a tombstone in their region); none are when left out. */
  tombstones?: Pick<TombstoneCache, 'known' | 'has'>;
  /** Asks the source for the messages a backlogged region turned away (they wait unacknowledged at the broker). */
  redeliver?(): void;
  /** Told of rows after their batch committed (the dashboard's live feed); never of uncommitted ones, nor of redelivered duplicates. */
  committed?: { eventsCommitted(region: RegionId, rows: readonly EventRow[]): void; refusalsCommitted(region: RegionId, rows: readonly RefusalRow[]): void };
}

/** Source-independent ingest: a message in, a committed row or a recorded refusal out. */
export interface Ingest {
  /** Resolves when the message may be acknowledged; rejects (IngestAbortedError) when it must not be. */
  handle(message: IngestMessage): Promise<IngestOutcome>;
  /** Whether the region's store took its last write (false while writes to it fail and are retried). */
  storeWritable(region: RegionId): boolean;
  /** Stops taking messages and lets in-flight batches commit (bounded by config.drainTimeoutMs). */
  close(): Promise<void>;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { config, stores, stats, metrics, logger } = deps;
  const abort = new AbortController();
  const failing = new Set<string>();
  const storeFailing = (region: RegionId): boolean => failing.has(`events:${region}`) || failing.has(`refusals:${region}`);
  const admission = new RegionAdmission(config.regionInFlightMax, storeFailing, (region) => {
    logger.info({ region }, 'region caught up; asking the broker for the messages it turned away');
    deps.redeliver?.();
  });
  const retry = (target: string, region?: RegionId) => ({
    initialMs: config.retryInitialMs,
    maxMs: config.retryMaxMs,
    onError(err: unknown, attempt: number) {
      failing.add(target);
      if (region) admission.storeFailed(region);
      metrics.storeRetries.inc({ target });
      logger.warn({ err, target, attempt, class: classifyStoreError(err) }, 'store call failed; retrying');
    },
  });
  /** Batches of rows: a row the store refuses for its values is isolated and declined, the rest commit. */
  const rowsOf = (target: string, region?: RegionId) => ({
    retry: retry(target, region),
    isRejection: (err: unknown) => classifyStoreError(err) === 'rejected',
    onRejected(_row: unknown, err: unknown) {
      metrics.storeRejected.inc({ target });
      // The code only: a driver's message may quote the refused value, which may be personal data.
      logger.warn({ target, code: storeErrorCode(err) }, 'the store refused a row; its message is refused as store_rejected');
    },
  });
  // One options object per store target (a few per region), not one per call on the hot path.
  const retryOptions = new Map<string, RetryOptions>();
  const persistently = <T>(target: string, fn: () => Promise<T>): Promise<T> => {
    let options = retryOptions.get(target);
    if (!options) {
      options = { ...retry(target), signal: abort.signal };
      retryOptions.set(target, options);
    }
    return retryUntilAborted(fn, options);
  };

  const batching = { batchMax: config.batchMax, lingerMs: config.lingerMs };
  const eventWriters = new Map<RegionId, BatchWriter<EventRow, 'device_erased'>>();
  const refusalWriters = new Map<RegionId, BatchWriter<QuarantinedRow>>();
  for (const [region, store] of stores.regions) {
    eventWriters.set(
      region,
      new BatchWriter<EventRow, 'device_erased'>({
        ...batching,
        ...rowsOf(`events:${region}`, region),
        flush: async (rows) => {
          const { inserted, erased } = await store.writeEvents(rows);
          failing.delete(`events:${region}`);
          stats.stored(region, inserted.length);
          // Only what this write inserted: a redelivered duplicate was reported when it was new.
          if (inserted.length > 0) deps.committed?.eventsCommitted(region, inserted);
          return erased.length === 0 ? undefined : new Map(erased.map((row) => [row, 'device_erased' as const]));
        },
        observe: (seconds) => metrics.batchSeconds.observe({ region, target: 'events' }, seconds),
      }),
    );
    refusalWriters.set(
      region,
      new BatchWriter<QuarantinedRow>({
        ...batching,
        ...rowsOf(`refusals:${region}`, region),
        flush: async (rows) => {
          await store.insertRefusals(rows);
          failing.delete(`refusals:${region}`);
          deps.committed?.refusalsCommitted(region, rows);
        },
        observe: (seconds) => metrics.batchSeconds.observe({ region, target: 'refusals' }, seconds),
      }),
    );
  }
  const unroutedRefusals = new BatchWriter<RefusalRow>({
    ...batching,
    ...rowsOf('refusals:directory'),
    flush: (rows) => stores.directory.insertRefusals(rows),
  });

  const hasRegion = (region: RegionId): boolean => stores.regions.has(region);
  // Each answer from memory when the cache holds it; only a miss goes to the store (and its retries).
  const lookup = (deviceId: string): Answer<DirectoryEntry | null> =>
    deps.directory.cached(deviceId) ?? persistently('directory', () => deps.directory.lookup(deviceId));
  const { tombstones } = deps;
  const erased = (region: RegionId, deviceId: string): Answer<boolean> => {
    if (!tombstones) return false;
    return tombstones.known(region, deviceId) ?? persistently(`tombstones:${region}`, () => tombstones.has(region, deviceId));
  };

  const quarantine = new QuarantineBudget(config.quarantinePerDeviceHour, config.quarantineTrackedDevices);

  const steps = ingestSteps({
    lookup,
    hasRegion,
    erased,
    admission,
    clockWindow: { aheadMs: config.clockAheadMs, behindMs: config.clockBehindMs },
    ledger: (deviceId, region) => deps.consent.cachedLedger(deviceId) ?? persistently(`consent:${region}`, () => deps.consent.ledger(deviceId, region)),
    writeRow: (region, row) =>
      eventWriters
        .get(region)!
        .write(row)
        .then((outcome) => outcome.declined.get(row)),
  });

  /** Refusals go to the sender's home-region quarantine (the topic names the sender), else to the directory, without payload. */
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
      // Kept everywhere, directory included: it names paths and fields, never a value.
      explanation: explain(refusal.reason, refusal.findings, ctx.json, 'json' in ctx),
    };
    // A payload, when operators asked for them, goes to the sender's own region only and never when
    // consent was the reason; the directory gets the bare facts.
    const payload = config.quarantinePayloads && !PAYLOAD_NEVER_KEPT.has(refusal.reason) ? ctx.message.payload : null;
    // Past its hourly cap a device's refusals are still answered and counted, but no longer written.
    if (!quarantine.take(deviceId, Date.now())) stats.quarantineSuppressed(region);
    else if (region) await refusalWriters.get(region)!.write({ ...row, payload });
    else await unroutedRefusals.write(row);
    stats.refused(region, refusal.reason);
    logger.debug({ reason: refusal.reason, region, deviceId, eventId: row.eventId }, 'message refused');
  }

  return {
    async handle(message) {
      if (abort.signal.aborted) throw new IngestAbortedError();
      const ctx: IngestContext = { message };
      try {
        const refusal = await runPipeline(steps, ctx, logger);
        if (refusal) await recordRefusal(ctx, refusal);
        metrics.handled.inc();
        return refusal ? { status: 'refused', reason: refusal.reason } : { status: 'stored', region: ctx.region!, eventId: ctx.event!.id };
      } finally {
        if (ctx.admitted) admission.release(ctx.admitted);
      }
    },
    storeWritable: (region) => !storeFailing(region),
    async close() {
      const writers = [...eventWriters.values(), ...refusalWriters.values(), unroutedRefusals];
      await Promise.all(writers.map((w) => w.close(config.drainTimeoutMs)));
      abort.abort();
    },
  };
}
