/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsentCategories, ConsentRecord } from '../../../../schema/consent.ts';
import type { FleetDeviceDetail, SessionResponse } from '../../dashboard-api.ts';
import { ApiError, type Api } from '../api.ts';
import { usePoll } from '../use-poll.ts';
import { ConsentForm } from './consent-form.ts';
import { EventStream } from './event-stream.ts';

const EVERY_MS = 3_000;

function consumables(device: FleetDeviceDetail): ComponentChild {
  const c = device.consumables;
  if (!c) return h('p', { class: 'hint' }, 'No consumables: no status event stored, no diagnostics consent, or not visible to your role.');
  const rows: [string, string][] = [
    ['phase', c.phase], ['water tank', `${Math.round(c.waterTankMl)} ml`], ['beans', `${Math.round(c.beansG)} g`],
    ['milk', `${Math.round(c.milkMl)} ml`], ['grounds bin', `${c.groundsBinCount} pucks`], ['cups until descale', String(c.cupsUntilDescale)],
    ['boiler', `${c.boilerTempC.toFixed(1)} °C`], ['as of', new Date(c.at).toLocaleString()],
  ];
  return h('table', { class: 'consumables' }, h('caption', null, 'Consumables (latest status event)'),
    h('tbody', null, rows.map(([k, v]) => h('tr', { key: k }, h('th', { scope: 'row' }, k), h('td', null, v)))));
}

function position(device: FleetDeviceDetail): ComponentChild {
  const l = device.location;
  if (!l) return h('p', { 'data-position': 'none' }, 'Position: not shown (no location consent, or none stored yet).');
  return h('p', { 'data-position': l.precision }, `Position: ${l.lat.toFixed(l.precision === 'coarse' ? 1 : 4)}, ${l.lon.toFixed(l.precision === 'coarse' ? 1 : 4)} (${l.precision}, ±${Math.round(l.accuracyM)} m)`);
}

export function DevicePage(props: { api: Api; session: SessionResponse; id: string }): ComponentChild {
  const [refresh, setRefresh] = useState(0);
  const [message, setMessage] = useState('');
  /** The choice being saved, then held until the page has read back the version that records it. */
  const [saving, setSaving] = useState<{ categories: ConsentCategories; version: number | null } | null>(null);
  const path = `/api/v1/fleet/${encodeURIComponent(props.id)}`;
  const { data: device, error } = usePoll<FleetDeviceDetail>(props.api, path, EVERY_MS, refresh);

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
        setMessage(`Consent not changed: ${err instanceof ApiError ? `${err.message} (${err.code})` : 'the server could not be reached'}`);
      },
    );
  };

  const readBack = device?.consent?.version ?? 0;
  useEffect(() => {
    if (saving?.version != null && readBack >= saving.version) setSaving(null);
  }, [readBack, saving]);

  if (error && !device) return h('section', null, h('h2', null, `Machine ${props.id}`), h('p', { role: 'alert', class: 'error' }, `${error.message} (${error.code})`));
  if (!device) return h('p', null, 'Loading…');
  return h('div', { class: 'device-page' },
    h('section', { 'aria-labelledby': 'device-title' },
      h('h2', { id: 'device-title' }, `Machine ${device.id}`),
      h('dl', { class: 'facts' },
        h('dt', null, 'home region'), h('dd', null, device.region),
        h('dt', null, 'state'), h('dd', { 'data-state': device.state ?? 'unknown' }, device.state ?? 'never seen')),
      position(device),
      consumables(device)),
    h('section', { 'aria-labelledby': 'consent-title' },
      h('h2', { id: 'consent-title' }, 'Consent'),
      device.consent
        ? h(ConsentForm, { record: device.consent, shown: saving?.categories ?? device.consent.categories, disabled: !props.session.canChangeConsent || saving !== null, onChange: change })
        : h('p', null, 'No consent record.'),
      props.session.canChangeConsent ? null : h('p', { class: 'hint' }, 'Your role cannot change consent.'),
      h('p', { role: 'status', class: 'status' }, message)),
    h('section', { class: 'wide', 'aria-labelledby': 'recent-title' },
      h('h2', { id: 'recent-title' }, 'Latest stored events'),
      h('table', { class: 'recent' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'time'), h('th', { scope: 'col' }, 'kind'), h('th', { scope: 'col' }, 'consent v'), h('th', { scope: 'col' }, 'body'))),
        h('tbody', null, device.recent.map((e) => h('tr', { key: e.id, 'data-kind': e.kind },
          h('td', null, new Date(e.ts).toLocaleString()), h('td', null, e.kind), h('td', null, String(e.consentVersion)),
          h('td', null, e.body ? h('code', null, JSON.stringify(e.body)) : 'hidden')))))),
    h(EventStream, { api: props.api, session: props.session, device: device.id }));
}
