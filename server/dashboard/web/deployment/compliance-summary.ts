/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { DeploymentCompliance, PlaneCompliance } from '../../../../schema/deployment.ts';
import type { Api } from '../api.ts';
import { usePoll } from '../use-poll.ts';
import { mustBeZero, tally } from '../views/compliance-page.ts';

/** Each plane verifies its audit chain and counts its stores for the report: asked less often than health. */
const COMPLIANCE_EVERY_MS = 10_000;

function verdict(report: DeploymentCompliance): string {
  if (!report.complete)
    return `Incomplete: ${report.totals.planesUnavailable} of ${report.totals.planes} planes did not answer, so their invariants are unknown.`;
  return report.ok ? 'Every invariant holds in every plane.' : 'An invariant is broken: see the rows marked ✗.';
}

function PlaneRow(props: { plane: PlaneCompliance }): ComponentChild {
  const { plane } = props;
  const f = plane.figures;
  const head = h('th', { scope: 'row' }, plane.region.toUpperCase());
  if (f === null)
    return h(
      'tr',
      { 'data-region': plane.region, 'data-state': plane.state },
      head,
      h('td', { colSpan: 8, class: 'bad' }, `unavailable ✗: ${plane.reason ?? ''}`),
    );
  return h(
    'tr',
    { 'data-region': plane.region, 'data-state': plane.state },
    head,
    h('td', null, String(f.devices)),
    h('td', null, String(f.owners)),
    h('td', null, tally(f.eventsByKind)),
    h('td', null, mustBeZero(f.residencyViolations)),
    h('td', null, mustBeZero(f.unconsentedRows)),
    h('td', null, mustBeZero(f.retentionOverdue)),
    h('td', null, h('span', { class: f.auditChain === 'ok' ? 'ok' : 'bad' }, f.auditChain === 'ok' ? `intact (${f.auditEntries} entries)` : 'broken')),
    h(
      'td',
      null,
      f.transferRules.length === 0 ? 'none' : f.transferRules.map((r) => `${r.name} → ${r.to}`).join(', '),
      ' · outside rules ',
      mustBeZero(f.transfersOutsideRules),
    ),
  );
}

/** The deployment's compliance report (GET /api/v1/directory/compliance): counts and invariants per plane. */
export function ComplianceSummary(props: { api: Api }): ComponentChild {
  const report = usePoll<DeploymentCompliance>(props.api, '/api/v1/directory/compliance', COMPLIANCE_EVERY_MS);
  const data = report.data;
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'section',
    { class: 'compliance', 'aria-labelledby': 'deployment-compliance-title' },
    h('h2', { id: 'deployment-compliance-title' }, 'Compliance report of the deployment'),
    report.error ? h('p', { role: 'alert', class: 'error' }, `Compliance: ${report.error.message}`) : null,
    data === null
      ? h('p', null, 'Loading…')
      : h(
          'div',
          { 'data-compliance': data.complete ? 'complete' : 'incomplete' },
          h('p', { class: `verdict ${data.ok ? 'ok' : 'bad'}`, role: 'status' }, verdict(data), ` Generated ${new Date(data.generatedAt).toLocaleString()}.`),
          h(
            'table',
            { class: 'wide-table' },
            h('caption', null, `Per plane: ${data.totals.devices} devices, ${data.totals.owners} owners, ${data.totals.events} events stored in all`),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                [
                  'plane',
                  'devices',
                  'owners',
                  'stored by kind',
                  'residency violations',
                  'without consent',
                  'past retention',
                  'audit chain',
                  'transfer rules',
                ].map(th),
              ),
            ),
            h(
              'tbody',
              null,
              data.planes.map((plane) => h(PlaneRow, { key: plane.region, plane })),
            ),
          ),
        ),
  );
}
