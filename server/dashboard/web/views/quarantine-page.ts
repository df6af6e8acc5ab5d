/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { RefusalExplanation } from '../../../../schema/refusal-explanation.ts';
import type { SessionResponse } from '../../dashboard-api.ts';
import { describeError, type Api } from '../api.ts';
import { commitOnEnter, controlValue } from '../dom-values.ts';
import { dateTime, REAL_TIME_LABEL } from '../format.ts';
import { deviceHref } from '../route.ts';
import { Findings } from './refusal-view.ts';

const PAGE = 25;

interface QuarantineEntry {
  id: number;
  receivedAt: string;
  reason: string;
  deviceId: string | null;
  eventId: string | null;
  kind: string | null;
  payloadBase64: string | null;
  explanation: RefusalExplanation | null;
}
interface QuarantinePage {
  entries: QuarantineEntry[];
  next: number | null;
}

/** Decodes a kept payload for display as text (preact escapes it); bytes that are not UTF-8 show as U+FFFD. */
const payloadText = (base64: string): string => new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));

/**
 * A region's quarantine, newest first, a page at a time: every refused message with why. A kept
 * payload (only with ingest.quarantinePayloads) is behind a disclosure, as it may hold exactly the
 * personal data that was refused; reading the page is an entry in the region's audit log.
 */
export function QuarantinePage(props: { api: Api; session: SessionResponse }): ComponentChild {
  const [region, setRegion] = useState(props.session.regions[0] ?? '');
  const [device, setDevice] = useState('');
  const [draft, setDraft] = useState('');
  const [cursors, setCursors] = useState<number[]>([]);
  const [page, setPage] = useState<QuarantinePage | null>(null);
  const [error, setError] = useState('');
  const before = cursors.at(-1);
  useEffect(() => {
    setError('');
    const query = `limit=${PAGE}${before === undefined ? '' : `&before=${before}`}${device.trim() ? `&device=${encodeURIComponent(device.trim())}` : ''}`;
    props.api.get<QuarantinePage>(`/api/v1/regions/${region}/quarantine?${query}`).then(setPage, (err: unknown) => setError(describeError(err)));
  }, [props.api, region, device, before]);

  if (!props.session.canReadQuarantine)
    return h('section', null, h('h2', null, 'Quarantine'), h('p', { class: 'notice' }, 'The quarantine is for admins and the operators of its region.'));
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'section',
    { class: 'quarantine', 'aria-labelledby': 'quarantine-title' },
    h('h2', { id: 'quarantine-title' }, 'Quarantine'),
    h('p', { class: 'hint' }, 'Messages the server refused, kept in the sender\u2019s home region: when, the reason and why, never stored as events.'),
    h(
      'form',
      { class: 'filters', onSubmit: (e: Event) => e.preventDefault() },
      h(
        'label',
        null,
        'Region ',
        h(
          'select',
          {
            name: 'region',
            value: region,
            onChange: (e: Event) => {
              setCursors([]);
              setRegion(controlValue(e));
            },
          },
          props.session.regions.map((r) => h('option', { key: r, value: r }, r.toUpperCase())),
        ),
      ),
      h(
        'label',
        null,
        'Machine ',
        h('input', {
          name: 'device',
          type: 'text',
          value: draft,
          placeholder: 'any',
          ...commitOnEnter(setDraft, (value) => {
            setCursors([]);
            setDevice(value);
          }),
        }),
      ),
    ),
    error ? h('p', { role: 'alert', class: 'error' }, error) : null,
    page
      ? h(
          'table',
          { class: 'wide-table' },
          h('caption', null, `Refused in ${region.toUpperCase()}, page ${cursors.length + 1}, newest first`),
          h('thead', null, h('tr', null, th(REAL_TIME_LABEL), th('machine'), th('kind'), th('reason'), th('why'), th('message as received'))),
          h(
            'tbody',
            null,
            page.entries.length === 0
              ? h('tr', null, h('td', { colSpan: 6 }, 'Nothing refused here.'))
              : page.entries.map((e) =>
                  h(
                    'tr',
                    { key: e.id, 'data-id': e.id, 'data-reason': e.reason },
                    h('td', null, dateTime(e.receivedAt)),
                    h('td', null, e.deviceId ? h('a', { href: deviceHref(e.deviceId) }, e.deviceId) : 'unknown'),
                    h('td', null, e.kind ?? '?'),
                    h('th', { scope: 'row' }, e.reason),
                    h('td', null, e.explanation ? h(Findings, { findings: e.explanation.findings }) : 'not recorded (an older row)'),
                    h(
                      'td',
                      null,
                      e.payloadBase64 === null
                        ? 'not kept'
                        : h('details', null, h('summary', null, 'show (may hold personal data)'), h('code', null, payloadText(e.payloadBase64))),
                    ),
                  ),
                ),
          ),
        )
      : h('p', null, 'Loading…'),
    h(
      'p',
      { class: 'actions' },
      h('button', { type: 'button', disabled: cursors.length === 0, onClick: () => setCursors((c) => c.slice(0, -1)) }, 'Newer'),
      h('button', { type: 'button', disabled: page?.next == null, onClick: () => page?.next != null && setCursors((c) => [...c, page.next!]) }, 'Older'),
      h('button', { type: 'button', disabled: cursors.length === 0, onClick: () => setCursors([]) }, 'Newest'),
    ),
  );
}
