import type { ComplianceReport } from '../../schema/privacy.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { TransferRule } from '../../schema/transfers.ts';
import type { DirectoryEntry } from '../store/types.ts';
import type { PrivacyDeps } from './privacy-deps.ts';
import { retentionCuts, retentionOf } from './retention.ts';
import { transferCompliance } from './transfer-report.ts';

type ReportDeps = Pick<PrivacyDeps, 'config' | 'stores' | 'audit'> & { transferRules: readonly TransferRule[] };

/** Events of devices the directory places in another region (or nowhere): residency broken. */
export function residencyViolations(region: RegionId, eventsByDevice: Readonly<Record<string, number>>, homes: ReadonlyMap<string, RegionId>): number {
  let violations = 0;
  for (const [deviceId, count] of Object.entries(eventsByDevice)) if (homes.get(deviceId) !== region) violations += count;
  return violations;
}

/**
 * The compliance report over the given regions, read from the stores themselves. Overdue means older
 * than the period plus one sweep interval: the sweeper had its chance and did not delete it.
 */
export async function complianceReport(deps: ReportDeps, regions: readonly RegionId[], includeDirectory: boolean, now = new Date()): Promise<ComplianceReport> {
  const entries: DirectoryEntry[] = await deps.stores.directory.list();
  const homes = new Map(entries.map((e) => [e.deviceId, e.region]));
  const perRegion = await Promise.all(
    regions.map(async (region) => {
      const store = deps.stores.regions.get(region);
      if (!store) throw new Error(`no store for region ${region}`);
      const facts = await store.facts();
      const cuts = retentionCuts(retentionOf(deps.config, region), now, deps.config.sweepIntervalMs);
      let retentionOverdue = await store.countRefusalsOlder(cuts.quarantineBefore);
      for (const { cut } of cuts.events) retentionOverdue += await store.countEventsOlder(cut);
      return {
        region,
        devices: facts.devices,
        owners: facts.owners,
        tombstones: facts.tombstones,
        eventsByKind: facts.eventsByKind,
        refusedByReason: facts.refusedByReason,
        residencyViolations: residencyViolations(region, facts.eventsByDevice, homes),
        unconsentedRows: facts.unconsentedRows,
        retentionOverdue,
        auditChain: await deps.audit.region(region).verify(),
      };
    }),
  );
  const transfers = await transferCompliance(deps, deps.transferRules, regions);
  const directory = includeDirectory ? { unroutedRefused: await deps.stores.directory.countRefusals(), auditChain: await deps.audit.directory.verify() } : null;
  const sum = (pick: (r: (typeof perRegion)[number]) => number): number => perRegion.reduce((n, r) => n + pick(r), 0);
  const chainBroken = perRegion.some((r) => r.auditChain.status === 'broken') || directory?.auditChain.status === 'broken';
  const totals = {
    residencyViolations: sum((r) => r.residencyViolations),
    unconsentedRows: sum((r) => r.unconsentedRows),
    retentionOverdue: sum((r) => r.retentionOverdue),
    auditChain: chainBroken ? ('broken' as const) : ('ok' as const),
    transfersOutsideRules: transfers.outsideRules,
  };
  return {
    generatedAt: now.toISOString(),
    regions: perRegion,
    directory,
    transfers,
    totals,
    ok: totals.residencyViolations === 0 && totals.unconsentedRows === 0 && totals.retentionOverdue === 0 && totals.transfersOutsideRules === 0 && !chainBroken,
  };
}
