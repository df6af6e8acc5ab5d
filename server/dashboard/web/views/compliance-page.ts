/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Api } from '../api.ts';

type Report = { state: 'loading' } | { state: 'absent' } | { state: 'error'; message: string } | { state: 'ready'; report: unknown };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Renders whatever the report holds, generically: the report's shape belongs to the privacy side of
 * the server, and the page should not break when it grows a field.
 */
function render(value: unknown, depth: number): ComponentChild {
  if (value === true) return h('span', { class: 'ok' }, 'yes');
  if (value === false) return h('span', { class: 'bad' }, 'no');
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    const columns = value.every(isRecord) ? [...new Set(value.flatMap((row) => Object.keys(row)))] : null;
    if (columns) {
      return h('table', null,
        h('thead', null, h('tr', null, columns.map((c) => h('th', { key: c, scope: 'col' }, c)))),
        h('tbody', null, value.map((row, i) => h('tr', { key: i }, columns.map((c) => h('td', { key: c }, render(row[c], depth + 1)))))));
    }
    return h('ul', null, value.map((item, i) => h('li', { key: i }, render(item, depth + 1))));
  }
  if (isRecord(value)) {
    return h('dl', { class: `report depth-${Math.min(depth, 3)}` }, Object.entries(value).flatMap(([k, v]) => [h('dt', { key: `${k}-t` }, k), h('dd', { key: `${k}-d` }, render(v, depth + 1))]));
  }
  return String(value);
}

export function CompliancePage(props: { api: Api }): ComponentChild {
  const [report, setReport] = useState<Report>({ state: 'loading' });
  useEffect(() => {
    props.api.get<unknown>('/api/v1/compliance').then(
      (data) => setReport({ state: 'ready', report: data }),
      (err: unknown) => setReport(err instanceof ApiError && (err.status === 404 || err.status === 405)
        ? { state: 'absent' }
        : { state: 'error', message: err instanceof ApiError ? `${err.message} (${err.code})` : 'the server could not be reached' }),
    );
  }, [props.api]);
  return h('section', { class: 'compliance', 'aria-labelledby': 'compliance-title' },
    h('h2', { id: 'compliance-title' }, 'Compliance report'),
    report.state === 'loading' ? h('p', null, 'Loading…')
      : report.state === 'absent' ? h('p', { class: 'notice', 'data-compliance': 'absent' }, 'Not available: this server has no compliance report (GET /api/v1/compliance answered 404).')
      : report.state === 'error' ? h('p', { role: 'alert', class: 'error' }, report.message)
      : h('div', { 'data-compliance': 'ready' }, render(report.report, 0)));
}
