import type { DeploymentCompliance, PlaneCompliance, PlaneComplianceFigures } from '../../schema/deployment.ts';
import type { ComplianceReport } from '../../schema/privacy.ts';
import type { RegionId } from '../../schema/regions.ts';
import { HttpError } from '../http/errors.ts';
import type { PlaneClient } from './plane-client.ts';

/**
 * The figures the deployment report keeps of one plane's report, picked one by one: whatever a plane
 * adds to its own report later stays in that plane unless it is named here.
 */
function figuresOf(report: ComplianceReport): PlaneComplianceFigures {
  const region = report.regions[0]!;
  return {
    generatedAt: report.generatedAt,
    devices: region.devices,
    owners: region.owners,
    tombstones: region.tombstones,
    eventsByKind: region.eventsByKind,
    refusedByReason: region.refusedByReason,
    residencyViolations: region.residencyViolations,
    unconsentedRows: region.unconsentedRows,
    retentionOverdue: region.retentionOverdue,
    auditChain: region.auditChain.status,
    auditEntries: region.auditChain.entries,
    transferRules: report.transfers.rules,
    transferBatches: report.transfers.perRule.reduce((n, rule) => n + rule.batches, 0),
    refusedWithoutRule: report.transfers.refusedWithoutRule,
    transfersOutsideRules: report.transfers.outsideRules,
    ok: report.ok,
  };
}

async function planeCompliance(client: PlaneClient): Promise<PlaneCompliance> {
  const { region, apiUrl } = client.plane;
  try {
    return { region, apiUrl, state: 'available', reason: null, figures: figuresOf(await client.compliance()) };
  } catch (error) {
    // The client's errors name the region and the failure only; anything else is said as little.
    const reason = error instanceof HttpError ? `${error.message} (${error.code})` : `the plane of region ${region} could not be asked`;
    return { region, apiUrl, state: 'unavailable', reason, figures: null };
  }
}

const sumOf = (values: Readonly<Record<string, number>>): number => Object.values(values).reduce((n, v) => n + v, 0);

/**
 * Asks every plane for its report at once and sums what came back. A plane that does not answer is
 * unavailable in the list and makes the report incomplete (so not ok: its invariants are unknown),
 * never an error of the whole request.
 */
export async function deploymentCompliance(planes: ReadonlyMap<RegionId, PlaneClient>, now = new Date()): Promise<DeploymentCompliance> {
  const perPlane = await Promise.all([...planes.values()].map(planeCompliance));
  const answered = perPlane.flatMap((p) => (p.figures === null ? [] : [p.figures]));
  const sum = (pick: (f: PlaneComplianceFigures) => number): number => answered.reduce((n, f) => n + pick(f), 0);
  const totals = {
    planes: perPlane.length,
    planesUnavailable: perPlane.length - answered.length,
    devices: sum((f) => f.devices),
    owners: sum((f) => f.owners),
    events: sum((f) => sumOf(f.eventsByKind)),
    refused: sum((f) => sumOf(f.refusedByReason)),
    residencyViolations: sum((f) => f.residencyViolations),
    unconsentedRows: sum((f) => f.unconsentedRows),
    retentionOverdue: sum((f) => f.retentionOverdue),
    auditChainsBroken: answered.filter((f) => f.auditChain === 'broken').length,
    transfersOutsideRules: sum((f) => f.transfersOutsideRules),
  };
  const complete = totals.planesUnavailable === 0;
  return { generatedAt: now.toISOString(), planes: perPlane, totals, complete, ok: complete && answered.every((f) => f.ok) };
}
