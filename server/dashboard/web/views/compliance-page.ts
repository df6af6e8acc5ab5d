/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditChainStatus, ComplianceReport } from '../../../../schema/privacy.ts';
import { ApiError, type Api } from '../api.ts';

type Report = { state: 'loading' } | { state: 'absent' } | { state: 'error'; message: string } | { state: 'ready'; report: ComplianceReport };

/** "534: brew 127 · fault 6 …", or "none". */
export function tally(values: Record<string, number>): string {
  const entries = Object.entries(values);
  if (entries.length === 0) return 'none';
  return `${entries.reduce((total, [, n]) => total + n, 0)}: ${entries.map(([k, n]) => `${k} ${n}`).join(' · ')}`;
}
/** A count that must be zero, marked so that colour is not the only signal. */
export const mustBeZero = (n: number): ComponentChild => h('span', { class: n === 0 ? 'ok' : 'bad' }, n === 0 ? '0 ✓' : `${n} ✗`);
const chain = (c: AuditChainStatus): ComponentChild =>
  h('span', { class: c.status === 'ok' ? 'ok' : 'bad' }, c.status === 'ok' ? `intact (${c.entries} entries)` : `broken at entry ${c.brokenAt ?? '?'}`);

function ReportView(props: { report: ComplianceReport }): ComponentChild {
  const { report } = props;
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'div',
    { 'data-compliance': 'ready' },
    h(
      'p',
      { class: `verdict ${report.ok ? 'ok' : 'bad'}`, role: 'status' },
      report.ok ? 'Every invariant holds.' : 'An invariant is broken: see the rows marked ✗.',
      ` Generated ${new Date(report.generatedAt).toLocaleString()}.`,
    ),
    h(
      'table',
      null,
      h('caption', null, 'Totals'),
      h(
        'tbody',
        null,
        h('tr', null, h('th', { scope: 'row' }, 'residency violations'), h('td', null, mustBeZero(report.totals.residencyViolations))),
        h('tr', null, h('th', { scope: 'row' }, 'rows stored without consent'), h('td', null, mustBeZero(report.totals.unconsentedRows))),
        h('tr', null, h('th', { scope: 'row' }, 'rows past retention'), h('td', null, mustBeZero(report.totals.retentionOverdue))),
        h(
          'tr',
          null,
          h('th', { scope: 'row' }, 'audit chains'),
          h('td', null, h('span', { class: report.totals.auditChain === 'ok' ? 'ok' : 'bad' }, report.totals.auditChain)),
        ),
      ),
    ),
    h(
      'table',
      { class: 'wide-table' },
      h('caption', null, 'Per region store'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          th('region'),
          th('devices'),
          th('owners'),
          th('tombstones'),
          th('stored by kind'),
          th('refused by reason'),
          th('residency violations'),
          th('without consent'),
          th('past retention'),
          th('audit chain'),
        ),
      ),
      h(
        'tbody',
        null,
        report.regions.map((r) =>
          h(
            'tr',
            { key: r.region },
            h('th', { scope: 'row' }, r.region),
            h('td', null, String(r.devices)),
            h('td', null, String(r.owners)),
            h('td', null, String(r.tombstones)),
            h('td', null, tally(r.eventsByKind)),
            h('td', null, tally(r.refusedByReason)),
            h('td', null, mustBeZero(r.residencyViolations)),
            h('td', null, mustBeZero(r.unconsentedRows)),
            h('td', null, mustBeZero(r.retentionOverdue)),
            h('td', null, chain(r.auditChain)),
          ),
        ),
      ),
    ),
    report.directory
      ? h('p', null, `Directory: ${report.directory.unroutedRefused} refusals from unknown senders; audit chain `, chain(report.directory.auditChain), '.')
      : h('p', { class: 'hint' }, 'The directory is not part of a regional operator\u2019s report.'),
  );
}

export function CompliancePage(props: { api: Api }): ComponentChild {
  const [report, setReport] = useState<Report>({ state: 'loading' });
  useEffect(() => {
    props.api.get<ComplianceReport>('/api/v1/compliance').then(
      (data) => setReport({ state: 'ready', report: data }),
      (err: unknown) =>
        setReport(
          err instanceof ApiError && err.status === 404
            ? { state: 'absent' }
            : { state: 'error', message: err instanceof ApiError ? `${err.message} (${err.code})` : 'the server could not be reached' },
        ),
    );
  }, [props.api]);
  return h(
    'section',
    { class: 'compliance', 'aria-labelledby': 'compliance-title' },
    h('h2', { id: 'compliance-title' }, 'Compliance report'),
    report.state === 'loading'
      ? h('p', null, 'Loading…')
      : report.state === 'absent'
        ? h('p', { class: 'notice', 'data-compliance': 'absent' }, 'Not available: this server has no compliance report (GET /api/v1/compliance answered 404).')
        : report.state === 'error'
          ? h('p', { role: 'alert', class: 'error' }, report.message)
          : h(ReportView, { report: report.report }),
  );
}
