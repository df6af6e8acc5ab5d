/**
 * `brewtel compliance --api URL --token T` (`npm run compliance -- …`): prints the compliance report per region and ends with
 * `residency_violations=… unconsented_rows=… retention_overdue=… audit_chain=ok|broken`.
 * Exit 0 when every hard invariant holds, 1 when one is broken, 2 when the report could not be read.
 */
import { runIfEntry } from '../cli/entry.ts';
import { readFlags, type Env } from '../cli/flags.ts';
import { complianceReportSchema, type ComplianceReport } from '../schema/privacy.ts';

export const USAGE = `Usage: brewtel compliance --api URL --token TOKEN   (in the repository: npm run compliance -- ...)

Prints the server's compliance report per region and ends with one machine-readable line:
residency_violations=N unconsented_rows=N retention_overdue=N audit_chain=ok|broken

  --api URL       the server, e.g. http://127.0.0.1:8080
  --token TOKEN   an admin or auditor token (an operator's shows its region); or BREWTEL_TOKEN
  -h, --help      this text

Exit code 0 when every invariant holds, 1 when one is broken, 2 when the report could not be read.`;

const counts = (record: Readonly<Record<string, number>>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '-';

function formatReport(report: ComplianceReport): string[] {
  const lines = [`compliance report ${report.generatedAt}`];
  for (const r of report.regions) {
    lines.push(
      `region ${r.region}`,
      `  devices ${r.devices}  owners ${r.owners}  tombstones ${r.tombstones}`,
      `  events by kind      ${counts(r.eventsByKind)}`,
      `  refused by reason   ${counts(r.refusedByReason)}`,
      `  residency violations ${r.residencyViolations}  unconsented rows ${r.unconsentedRows}  retention overdue ${r.retentionOverdue}`,
      `  audit chain ${r.auditChain.status} (${r.auditChain.entries} entries${r.auditChain.brokenAt === null ? '' : `, broken at ${r.auditChain.brokenAt}`})`,
    );
  }
  if (report.directory) {
    const chain = report.directory.auditChain;
    lines.push(`directory  unrouted refused ${report.directory.unroutedRefused}  audit chain ${chain.status} (${chain.entries} entries)`);
  }
  const x = report.transfers;
  for (const rule of x.rules) {
    const n = x.perRule.find((c) => c.rule === rule.name);
    lines.push(
      `transfer rule ${rule.name}  ${rule.from} -> ${rule.to}  ${rule.categories.join(',')}  basis: ${rule.legalBasis}`,
      `  batches ${n?.batches ?? 0}  aggregates ${n?.aggregates ?? 0}  suppressed ${n?.suppressed ?? 0}  refusals ${n?.refusals ?? 0}  failed ${n?.failed ?? 0}`,
    );
  }
  lines.push(`transfers refused without a rule ${x.refusedWithoutRule}`);
  const t = report.totals;
  lines.push(
    `residency_violations=${t.residencyViolations} unconsented_rows=${t.unconsentedRows} retention_overdue=${t.retentionOverdue} audit_chain=${t.auditChain} transfers_outside_rules=${t.transfersOutsideRules}`,
  );
  return lines;
}

/** Resolves with 0 (every invariant holds), 1 (one is broken) or 2 (no report; see docs/cli.md). */
export async function main(argv: readonly string[], env: Env): Promise<number> {
  const flags = readFlags(argv, { api: { type: 'string' }, token: { type: 'string' } });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const usage = (message: string): number => {
    console.error(`error: ${message}\n(see brewtel compliance --help)`);
    return 2;
  };
  if ('error' in flags) return usage(flags.error);
  const api = flags.values.api;
  const token = flags.values.token ?? env.BREWTEL_TOKEN;
  if (!api) return usage('--api is required');
  if (!token) return usage('--token (or BREWTEL_TOKEN) is required');

  let response: Response;
  try {
    response = await fetch(new URL('/api/v1/compliance', api), { headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    console.error(`error: cannot reach ${api}: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const code = typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : 'unknown';
    console.error(`error: the server answered ${response.status} ${code}`);
    return 2;
  }
  const parsed = complianceReportSchema.safeParse(body);
  if (!parsed.success) {
    console.error('error: the answer is not a compliance report');
    return 2;
  }
  for (const line of formatReport(parsed.data)) console.log(line);
  return parsed.data.ok ? 0 : 1;
}

runIfEntry(import.meta.url, 'brewtel compliance', main);
