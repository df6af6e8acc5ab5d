/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsentCategories, ConsentRecord } from '../../../../schema/consent.ts';
import type { DeviceRefusal, FleetDeviceDetail, SessionResponse } from '../../dashboard-api.ts';
import { describeError, type Api } from '../api.ts';
import { dateTime, deviceTimeLabel, positionText, REAL_TIME_LABEL } from '../format.ts';
import { usePoll } from '../use-poll.ts';
import { ConsentForm } from './consent-form.ts';
import { EventStream } from './event-stream.ts';
import { Findings, SentAndKept } from './refusal-view.ts';

const EVERY_MS = 3_000;

function consumables(device: FleetDeviceDetail, speed: number | null): ComponentChild {
  const c = device.consumables;
  if (!c) return h('p', { class: 'hint' }, 'No consumables: no status event stored, no diagnostics consent, or not visible to your role.');
  const rows: [string, string][] = [
    ['phase', c.phase],
    ['water tank', `${Math.round(c.waterTankMl)} ml`],
    ['beans', `${Math.round(c.beansG)} g`],
    ['milk', `${Math.round(c.milkMl)} ml`],
    ['grounds bin', `${c.groundsBinCount} pucks`],
    ['cups until descale', String(c.cupsUntilDescale)],
    ['boiler', `${c.boilerTempC.toFixed(1)} °C`],
    [`as of (${deviceTimeLabel(speed)})`, dateTime(c.at)],
  ];
  return h(
    'table',
    { class: 'consumables' },
    h('caption', null, 'Consumables (latest status event)'),
    h(
      'tbody',
      null,
      rows.map(([k, v]) => h('tr', { key: k }, h('th', { scope: 'row' }, k), h('td', null, v))),
    ),
  );
}

function position(device: FleetDeviceDetail): ComponentChild {
  const l = device.location;
  if (!l) return h('p', { 'data-position': 'none' }, 'Position: not shown (no location consent, none stored yet, or not visible to your role).');
  const digits = l.precision === 'coarse' ? 1 : 4;
  return h('p', { 'data-position': l.precision }, `Position: ${l.lat.toFixed(digits)}, ${l.lon.toFixed(digits)} (${positionText(l)})`);
}

function recentEvents(device: FleetDeviceDetail, speed: number | null): ComponentChild {
  if (device.recent.length === 0) {
    return h(
      'p',
      { class: 'notice', 'data-recent': 'none' },
      device.refusals.length > 0
        ? 'No stored events: every message of this machine the server kept a record of was refused (see below).'
        : 'No stored events yet.',
    );
  }
  return h(
    'table',
    { class: 'recent' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, deviceTimeLabel(speed)),
        h('th', { scope: 'col' }, REAL_TIME_LABEL),
        h('th', { scope: 'col' }, 'kind'),
        h('th', { scope: 'col' }, 'consent v'),
        h('th', { scope: 'col' }, 'body'),
      ),
    ),
    h(
      'tbody',
      null,
      device.recent.map((e) =>
        h(
          'tr',
          { key: e.id, 'data-kind': e.kind },
          h('td', null, dateTime(e.ts)),
          h('td', null, dateTime(e.receivedAt)),
          h('td', null, e.kind),
          h('td', null, String(e.consentVersion)),
          h('td', null, e.body ? h('code', null, JSON.stringify(e.body)) : 'hidden'),
        ),
      ),
    ),
  );
}

/** What the server refused of this machine and why: the story's leaky machine shows up here. */
function refusals(device: FleetDeviceDetail): ComponentChild {
  // The most telling of its recent refusals: the one with the most findings (the newest of those).
  const latest = device.refusals.reduce<DeviceRefusal | undefined>(
    (best, r) => ((r.explanation?.findings.length ?? 0) > (best?.explanation?.findings.length ?? 0) ? r : best),
    undefined,
  );
  return h(
    'section',
    { class: 'wide refusals', 'aria-labelledby': 'refusals-title', 'data-refusals': device.refusals.length },
    h('h2', { id: 'refusals-title' }, `Refused at the door (${device.refusals.length === 10 ? 'latest 10' : device.refusals.length})`),
    device.refusals.length === 0
      ? h('p', { class: 'hint' }, 'The server has refused nothing of this machine that its quarantine still holds.')
      : [
          latest?.explanation
            ? h(SentAndKept, {
                key: 'side',
                explanation: latest.explanation,
                payloadKept: latest.payloadKept,
                what: `its ${latest.kind ?? ''} message of ${dateTime(latest.receivedAt)}`,
              })
            : null,
          h(
            'table',
            { key: 'list', class: 'wide-table' },
            h('caption', null, 'Its latest refusals, newest first, with why'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                h('th', { scope: 'col' }, REAL_TIME_LABEL),
                h('th', { scope: 'col' }, 'kind'),
                h('th', { scope: 'col' }, 'reason'),
                h('th', { scope: 'col' }, 'why'),
              ),
            ),
            h(
              'tbody',
              null,
              device.refusals.map((r) =>
                h(
                  'tr',
                  { key: r.id, 'data-reason': r.reason },
                  h('td', null, dateTime(r.receivedAt)),
                  h('td', null, r.kind ?? '?'),
                  h('td', null, h('strong', null, r.reason)),
                  h('td', null, r.explanation ? h(Findings, { findings: r.explanation.findings }) : 'not recorded (an older row)'),
                ),
              ),
            ),
          ),
        ],
  );
}

export function DevicePage(props: { api: Api; session: SessionResponse; id: string }): ComponentChild {
  const [refresh, setRefresh] = useState(0);
  const [message, setMessage] = useState('');
  /** The choice being saved, then held until the page has read back the version that records it. */
  const [saving, setSaving] = useState<{ categories: ConsentCategories; version: number | null } | null>(null);
  const path = `/api/v1/fleet/${encodeURIComponent(props.id)}`;
  const { data: device, error } = usePoll<FleetDeviceDetail>(props.api, path, EVERY_MS, refresh);
  const speed = props.session.simulatedSpeed;

  const change = (next: ConsentCategories): void => {
    setMessage('Saving consent…');
    setSaving({ categories: next, version: null });
    props.api.put<ConsentRecord>(`/api/v1/devices/${encodeURIComponent(props.id)}/consent?channel=dashboard`, next).then(
      (record) => {
        setMessage(`Consent version ${record.version} recorded and pushed to the machine.`);
        setSaving({ categories: next, version: record.version });
        setRefresh((n) => n + 1);
      },
      (err: unknown) => {
        setSaving(null);
        setMessage(`Consent not changed: ${describeError(err)}`);
      },
    );
  };

  const readBack = device?.consent?.version ?? 0;
  useEffect(() => {
    if (saving?.version != null && readBack >= saving.version) setSaving(null);
  }, [readBack, saving]);

  if (error && !device)
    return h('section', null, h('h2', null, `Machine ${props.id}`), h('p', { role: 'alert', class: 'error' }, `${error.message} (${error.code})`));
  if (!device) return h('p', null, 'Loading…');
  return h(
    'div',
    { class: 'device-page' },
    h(
      'section',
      { 'aria-labelledby': 'device-title' },
      h('h2', { id: 'device-title' }, `Machine ${device.id}`),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'home region'),
        h('dd', null, device.region.toUpperCase()),
        h('dt', null, 'state'),
        h('dd', { 'data-state': device.state ?? 'unknown' }, device.state ?? 'never seen'),
      ),
      position(device),
      consumables(device, speed),
    ),
    h(
      'section',
      { 'aria-labelledby': 'consent-title' },
      h('h2', { id: 'consent-title' }, 'Consent'),
      device.consent
        ? h(ConsentForm, {
            record: device.consent,
            shown: saving?.categories ?? device.consent.categories,
            disabled: !props.session.canChangeConsent || saving !== null,
            onChange: change,
          })
        : h('p', null, 'No consent record.'),
      props.session.canChangeConsent ? null : h('p', { class: 'hint' }, 'Your role cannot change consent.'),
      h('p', { role: 'status', class: 'status' }, message),
    ),
    h('section', { class: 'wide', 'aria-labelledby': 'recent-title' }, h('h2', { id: 'recent-title' }, 'Latest stored events'), recentEvents(device, speed)),
    refusals(device),
    h(EventStream, { api: props.api, session: props.session, device: device.id }),
  );
}
