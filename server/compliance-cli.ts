/**
 * `npm run compliance -- --api URL --token T`: prints the compliance report per region and ends with
 * `residency_violations=… unconsented_rows=… retention_overdue=… audit_chain=ok|broken`.
 * Exit 0 when every hard invariant holds, 1 when one is broken, 2 when the report could not be read.
 */
import { parseArgs } from 'node:util';
import { complianceReportSchema, type ComplianceReport } from '../schema/privacy.ts';

function usage(message: string): never {
  console.error(`${message}\nusage: npm run compliance -- --api URL --token TOKEN`);
  process.exit(2);
}

const counts = (record: Readonly<Record<string, number>>): string =>
  Object.entries(record).map(([k, v]) => `${k}=${v}`).join(' ') || '-';

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
  const t = report.totals;
  lines.push(`residency_violations=${t.residencyViolations} unconsented_rows=${t.unconsentedRows} retention_overdue=${t.retentionOverdue} audit_chain=${t.auditChain}`);
  return lines;
}

const { values } = parseArgs({ options: { api: { type: 'string' }, token: { type: 'string' } } });
const token = values.token ?? process.env.BREWTEL_TOKEN;
if (!values.api) usage('--api is required');
if (!token) usage('--token (or BREWTEL_TOKEN) is required');

let response: Response;
try {
  response = await fetch(new URL('/api/v1/compliance', values.api), { headers: { authorization: `Bearer ${token}` } });
} catch (err) {
  console.error(`error: cannot reach ${values.api}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const body: unknown = await response.json().catch(() => null);
if (!response.ok) {
  const code = typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : 'unknown';
  console.error(`error: the server answered ${response.status} ${code}`);
  process.exit(2);
}
const parsed = complianceReportSchema.safeParse(body);
if (!parsed.success) {
  console.error('error: the answer is not a compliance report');
  process.exit(2);
}
for (const line of formatReport(parsed.data)) console.log(line);
process.exit(parsed.data.ok ? 0 : 1);
