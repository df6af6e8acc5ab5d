import type { RegionId } from '../../schema/regions.ts';
import { TRANSFER_BATCH_FORMAT, type TransferBatch, type TransferCategory, type TransferRequest, type TransferRule } from '../../schema/transfers.ts';
import type { TransfersConfig } from '../config.ts';
import type { Stores } from '../store/types.ts';
import type { AuditLogs } from './audit-logs.ts';
import { suppressSmallBrewStatistics, suppressSmallCounts } from './small-counts.ts';

/** Every transfer entry in a region's chain has this target, so the report finds them without a full walk. */
export const TRANSFER_AUDIT_TARGET = 'transfers';
export const TRANSFER_ACTIONS = { sent: 'transfer.sent', refused: 'transfer.refused', failed: 'transfer.failed' } as const;

export interface TransferDeps {
  transfers: TransfersConfig;
  stores: Stores;
  audit: AuditLogs;
}

/** Why a flow was refused: the code's message and the audit entry's reason. */
export class TransferRefused extends Error {
  override readonly name = 'TransferRefused';
  constructor(
    readonly reason: 'no_rule' | 'wrong_source' | 'category_not_allowed',
    message: string,
  ) {
    super(message);
  }
}

export class TransferDeliveryFailed extends Error {
  override readonly name = 'TransferDeliveryFailed';
}

export interface TransferOutcome {
  batch: TransferBatch;
  delivered: { url: string; status: number } | null;
}

interface Flow {
  deps: TransferDeps;
  actor: string;
  name: string;
  request: TransferRequest;
  rule?: TransferRule;
  categories?: TransferCategory[];
  batch?: TransferBatch;
  aggregates?: number;
  delivered?: { url: string; status: number } | null;
}

/** The destination as audited: no user info or query string, which may carry a credential. */
export function auditedUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** The steps of one transfer, in order; a refusal stops the flow before anything is read. */
const STEPS: ReadonlyArray<{ name: string; run(flow: Flow): Promise<void> | void }> = [
  {
    name: 'find the rule',
    run(flow) {
      flow.rule = flow.deps.transfers.rules.find((r) => r.name === flow.name);
      if (!flow.rule) throw new TransferRefused('no_rule', `no transfer rule named ${flow.name} is in force`);
    },
  },
  {
    name: 'check the source region',
    run(flow) {
      // A rule moves its own region's aggregates only: a rule from eu never reads another region's store.
      if (flow.rule!.from !== flow.request.from) throw new TransferRefused('wrong_source', `rule ${flow.name} allows transfers from ${flow.rule!.from} only`);
    },
  },
  {
    name: 'check the categories',
    run(flow) {
      const allowed: readonly string[] = flow.rule!.categories;
      const asked = flow.request.categories ?? allowed;
      const outside = asked.filter((c) => !allowed.includes(c));
      if (outside.length > 0) throw new TransferRefused('category_not_allowed', `rule ${flow.name} does not allow ${outside.join(', ')}`);
      flow.categories = [...new Set(asked)] as TransferCategory[];
    },
  },
  {
    name: 'aggregate in the source store',
    async run(flow) {
      const { rule, categories } = flow;
      const store = flow.deps.stores.regions.get(rule!.from);
      if (!store) throw new Error(`no store for region ${rule!.from}`);
      const minCount = rule!.minCount ?? flow.deps.transfers.minCount;
      const batch: TransferBatch = {
        format: TRANSFER_BATCH_FORMAT,
        rule: rule!.name,
        from: rule!.from,
        to: rule!.to,
        legalBasis: rule!.legalBasis,
        categories: categories!,
        generatedAt: new Date().toISOString(),
        minCount,
        suppressedBuckets: 0,
      };
      let aggregates = 0;
      // Small buckets are dropped here, in the plane, so they are neither sent nor audited as sent.
      if (categories!.includes('brew-statistics')) {
        const { kept, suppressed } = suppressSmallBrewStatistics(await store.brewStatistics(), minCount);
        batch.brewStatistics = kept;
        batch.suppressedBuckets += suppressed;
        aggregates += kept.length;
      }
      if (categories!.includes('event-counts')) {
        const { kept, suppressed } = suppressSmallCounts((await store.facts()).eventsByKind, minCount);
        batch.eventCounts = kept;
        batch.suppressedBuckets += suppressed;
        aggregates += Object.keys(kept).length;
      }
      flow.batch = batch;
      flow.aggregates = aggregates;
    },
  },
  {
    // Before the data leaves: a batch whose entry could not be written never goes.
    name: 'audit the batch',
    async run(flow) {
      await flow.deps.audit.region(flow.rule!.from).append({
        actor: flow.actor,
        action: TRANSFER_ACTIONS.sent,
        target: TRANSFER_AUDIT_TARGET,
        detail: { ...detailOf(flow), aggregates: flow.aggregates!, suppressed: flow.batch!.suppressedBuckets, minCount: flow.batch!.minCount },
      });
    },
  },
  {
    name: 'deliver to the destination',
    async run(flow) {
      const url = flow.rule!.destinationUrl;
      if (url === undefined) {
        flow.delivered = null;
        return;
      }
      let status: number;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(flow.batch),
          signal: AbortSignal.timeout(flow.deps.transfers.timeoutMs),
        });
        await response.body?.cancel();
        status = response.status;
      } catch (err) {
        throw new TransferDeliveryFailed(`the destination of rule ${flow.name} did not answer`, { cause: err });
      }
      if (status < 200 || status > 299) throw new TransferDeliveryFailed(`the destination of rule ${flow.name} answered ${status}`);
      flow.delivered = { url: auditedUrl(url), status };
    },
  },
];

function detailOf(flow: Flow): Record<string, string | number | null> {
  const rule = flow.rule;
  return {
    rule: flow.name,
    to: rule?.to ?? null,
    categories: (flow.categories ?? flow.request.categories ?? []).join(','),
    legalBasis: rule?.legalBasis ?? null,
    destination: rule?.destinationUrl === undefined ? null : auditedUrl(rule.destinationUrl),
  };
}

/**
 * One batch of a named flow out of `request.from`'s plane. Whatever the outcome, it is audit-logged in
 * the source region's chain with the rule, destination, categories, legal basis and counts (never the
 * data): `transfer.refused` (then TransferRefused is thrown) before anything is read; `transfer.sent` once the
 * batch is made and before it leaves; `transfer.failed` after it when the destination did not take it.
 */
export async function runTransfer(deps: TransferDeps, actor: string, name: string, request: TransferRequest): Promise<TransferOutcome> {
  const flow: Flow = { deps, actor, name, request };
  const log = deps.audit.region(request.from as RegionId);
  for (const step of STEPS) {
    try {
      await step.run(flow);
    } catch (err) {
      if (err instanceof TransferRefused) {
        await log.append({ actor, action: TRANSFER_ACTIONS.refused, target: TRANSFER_AUDIT_TARGET, detail: { ...detailOf(flow), reason: err.reason } });
      } else if (err instanceof TransferDeliveryFailed) {
        await log.append({ actor, action: TRANSFER_ACTIONS.failed, target: TRANSFER_AUDIT_TARGET, detail: detailOf(flow) });
      }
      throw err;
    }
  }
  return { batch: flow.batch!, delivered: flow.delivered ?? null };
}
