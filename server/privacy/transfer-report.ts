import type { RegionId } from '../../schema/regions.ts';
import type { TransferCompliance, TransferRule } from '../../schema/transfers.ts';
import { TRANSFER_ACTIONS, TRANSFER_AUDIT_TARGET } from './transfers.ts';
import type { AuditRow, Stores } from '../store/types.ts';

const PAGE = 1_000;

async function transferEntries(stores: Stores, region: RegionId): Promise<AuditRow[]> {
  const store = stores.regions.get(region);
  if (!store) throw new Error(`no store for region ${region}`);
  const all: AuditRow[] = [];
  for (let afterSeq = 0; ; ) {
    const rows = await store.auditEntries({ afterSeq, limit: PAGE, targets: [TRANSFER_AUDIT_TARGET] });
    all.push(...rows);
    if (rows.length < PAGE) return all;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}

function detailOf(row: AuditRow): Record<string, unknown> {
  try {
    return JSON.parse(row.detail) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A sent batch is within a rule when a rule in force has its name, source, destination and (a superset of) its categories. */
function withinRule(rules: readonly TransferRule[], region: RegionId, detail: Record<string, unknown>): boolean {
  const rule = rules.find((r) => r.name === detail.rule);
  if (!rule || rule.from !== region || rule.to !== detail.to) return false;
  const categories = typeof detail.categories === 'string' && detail.categories !== '' ? detail.categories.split(',') : [];
  return categories.length > 0 && categories.every((c) => (rule.categories as readonly string[]).includes(c));
}

/**
 * The transfer part of the compliance report over the given regions, counted from their audit chains
 * (the chains' own verification is the report's auditChain; run it first, so appends queued in
 * this process have landed): the rules in force (those from these
 * regions), per rule its batches, aggregates, suppressed buckets, refusals and failed deliveries.
 */
export async function transferCompliance(deps: { stores: Stores }, rules: readonly TransferRule[], regions: readonly RegionId[]): Promise<TransferCompliance> {
  const inForce = rules.filter((r) => regions.includes(r.from));
  const perRule = new Map(inForce.map((r) => [r.name, { rule: r.name, batches: 0, aggregates: 0, suppressed: 0, refusals: 0, failed: 0 }]));
  let refusedWithoutRule = 0;
  let outsideRules = 0;
  for (const region of regions) {
    for (const row of await transferEntries(deps.stores, region)) {
      const detail = detailOf(row);
      const counts = typeof detail.rule === 'string' ? perRule.get(detail.rule) : undefined;
      if (row.action === TRANSFER_ACTIONS.sent) {
        if (!withinRule(inForce, region, detail)) outsideRules++;
        if (counts) {
          counts.batches++;
          counts.aggregates += typeof detail.aggregates === 'number' ? detail.aggregates : 0;
          // Entries written before suppression existed have none.
          counts.suppressed += typeof detail.suppressed === 'number' ? detail.suppressed : 0;
        }
      } else if (row.action === TRANSFER_ACTIONS.refused) {
        if (detail.reason === 'no_rule' || !counts) refusedWithoutRule++;
        else counts.refusals++;
      } else if (row.action === TRANSFER_ACTIONS.failed && counts) counts.failed++;
    }
  }
  return { rules: inForce, perRule: [...perRule.values()], refusedWithoutRule, outsideRules };
}
