import type { Logger } from 'pino';
import type { RegionId } from '../../schema/regions.ts';
import type { PrivacyDeps } from './privacy-deps.ts';
import { retentionCuts, retentionOf } from './retention.ts';

export interface SweepResult {
  region: RegionId;
  /** Rows deleted per retention category. */
  deleted: Record<string, number>;
}

/** Deletes what is past its period in every region (each in its own store); audited when anything went. */
export async function sweepRetention(deps: Pick<PrivacyDeps, 'config' | 'stores' | 'audit'>, actor: string, now = new Date()): Promise<SweepResult[]> {
  const results: SweepResult[] = [];
  for (const [region, store] of deps.stores.regions) {
    const cuts = retentionCuts(retentionOf(deps.config, region), now);
    const deleted: Record<string, number> = {};
    for (const { category, cut } of cuts.events) deleted[category] = await store.sweepEvents(cut);
    deleted.quarantine = await store.sweepRefusals(cuts.quarantineBefore);
    if (Object.values(deleted).some((n) => n > 0)) {
      await deps.audit.region(region).append({ actor, action: 'retention.sweep', target: region, detail: deleted });
    }
    results.push({ region, deleted });
  }
  return results;
}

/** Runs the sweep at start and then every `config.sweepIntervalMs`; a failed run is logged and retried next time. */
export function startRetentionSweeper(deps: Pick<PrivacyDeps, 'config' | 'stores' | 'audit'>, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    running = sweepRetention(deps, 'system').then(
      (results) => logger.info({ results }, 'retention sweep done'),
      (err: unknown) => logger.warn({ err }, 'retention sweep failed; next interval retries'),
    );
  };
  tick();
  const timer = setInterval(tick, deps.config.sweepIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
