/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { DeviceSummary } from '../../../../schema/api.ts';
import type { Owner } from '../../../../schema/privacy.ts';
import type { SessionResponse } from '../../dashboard-api.ts';
import { describeError, type Api } from '../api.ts';
import { controlValue } from '../dom-values.ts';
import { dateTime } from '../format.ts';
import { deviceHref } from '../route.ts';

const RELOAD_MS = 5_000;

interface OwnerPage {
  owners: Owner[];
  next: string | null;
}

/** Saves an owner's export as a file, fetched with the token (a plain link could not send it). */
export async function downloadExport(api: Api, owner: Pick<Owner, 'id'>): Promise<void> {
  const blob = await api.blob(`/api/v1/owners/${owner.id}/export`);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `owner-export-${owner.id}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function CreateOwner(props: { api: Api; region: string; onDone(message: string): void }): ComponentChild {
  const [name, setName] = useState('');
  const [contact, setContact] = useState('');
  const submit = (event: Event): void => {
    event.preventDefault();
    props.api.post<Owner>('/api/v1/owners', { region: props.region, name: name.trim(), contact: contact.trim() }).then(
      (owner) => {
        setName('');
        setContact('');
        props.onDone(`Owner ${owner.id} created in ${owner.region.toUpperCase()}.`);
      },
      (err: unknown) => props.onDone(`Not created: ${describeError(err)}`),
    );
  };
  return h(
    'form',
    { class: 'inline-form', onSubmit: submit, 'aria-labelledby': 'create-title' },
    h('h3', { id: 'create-title' }, `New owner in ${props.region.toUpperCase()}`),
    h('label', { for: 'owner-name' }, 'Name'),
    h('input', { id: 'owner-name', required: true, maxLength: 200, value: name, onInput: (e: Event) => setName(controlValue(e)) }),
    h('label', { for: 'owner-contact' }, 'Contact (e-mail, phone or address)'),
    h('input', { id: 'owner-contact', required: true, maxLength: 500, value: contact, onInput: (e: Event) => setContact(controlValue(e)) }),
    h('button', { type: 'submit' }, 'Create owner'),
  );
}

function AttachDevice(props: { api: Api; region: string; owners: readonly Owner[]; onDone(message: string): void }): ComponentChild {
  const [devices, setDevices] = useState<DeviceSummary[]>([]);
  const [owner, setOwner] = useState('');
  const [device, setDevice] = useState('');
  useEffect(() => {
    props.api.get<{ devices: DeviceSummary[] }>('/api/v1/devices').then(
      (d) => setDevices(d.devices.filter((x) => x.region === props.region)),
      () => setDevices([]),
    );
  }, [props.api, props.region]);
  const submit = (event: Event): void => {
    event.preventDefault();
    props.api.post(`/api/v1/owners/${owner}/devices`, { deviceId: device }).then(
      () => props.onDone(`Machine ${device} now belongs to ${owner}.`),
      (err: unknown) => props.onDone(`Not attached: ${describeError(err)}`),
    );
  };
  return h(
    'form',
    { class: 'inline-form', onSubmit: submit, 'aria-labelledby': 'attach-title' },
    h('h3', { id: 'attach-title' }, 'Attach a machine to an owner'),
    h('label', { for: 'attach-owner' }, 'Owner'),
    h(
      'select',
      { id: 'attach-owner', required: true, value: owner, onChange: (e: Event) => setOwner(controlValue(e)) },
      h('option', { value: '' }, 'choose…'),
      props.owners.map((o) => h('option', { key: o.id, value: o.id }, `${o.name} (${o.id})`)),
    ),
    h('label', { for: 'attach-device' }, 'Machine'),
    h(
      'select',
      { id: 'attach-device', required: true, value: device, onChange: (e: Event) => setDevice(controlValue(e)) },
      h('option', { value: '' }, 'choose…'),
      devices.map((d) => h('option', { key: d.id, value: d.id }, d.id)),
    ),
    h('button', { type: 'submit' }, 'Attach'),
  );
}

/** One owner's row: their data, an export to download and an erasure that asks first. */
function OwnerRow(props: { api: Api; owner: Owner; onDone(message: string): void }): ComponentChild {
  const { owner } = props;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const exportIt = (): void => {
    setBusy(true);
    downloadExport(props.api, owner)
      .then(
        () => props.onDone(`Export of ${owner.id} saved as owner-export-${owner.id}.json.`),
        (err: unknown) => props.onDone(`No export: ${describeError(err)}`),
      )
      .finally(() => setBusy(false));
  };
  const erase = (): void => {
    setBusy(true);
    props.api
      .delete<{ tombstoned: string[]; erased: Record<string, number> }>(`/api/v1/owners/${owner.id}`)
      .then(
        (result) =>
          props.onDone(
            `Erased ${owner.id}: ${Object.entries(result.erased)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')}; ${result.tombstoned.length} machine(s) tombstoned.`,
          ),
        (err: unknown) => props.onDone(`Not erased: ${describeError(err)}`),
      )
      .finally(() => {
        setBusy(false);
        setConfirming(false);
      });
  };
  return h(
    'tr',
    { 'data-owner': owner.id },
    h('th', { scope: 'row' }, owner.name),
    h('td', null, owner.contact),
    h('td', null, h('code', null, owner.id)),
    h('td', null, owner.devices.length === 0 ? 'none' : owner.devices.map((d, i) => [i > 0 ? ', ' : '', h('a', { key: d, href: deviceHref(d) }, d)])),
    h('td', null, dateTime(owner.createdAt)),
    h(
      'td',
      { class: 'row-actions' },
      confirming
        ? h(
            'div',
            { role: 'group', 'aria-label': `Confirm erasing ${owner.name}` },
            h(
              'p',
              { class: 'warn' },
              `Erase ${owner.name} and what ${owner.devices.length} machine(s) sent while theirs, for good? Their machines are refused from then on.`,
            ),
            h('button', { type: 'button', class: 'danger', disabled: busy, onClick: erase }, 'Erase for good'),
            h('button', { type: 'button', disabled: busy, onClick: () => setConfirming(false) }, 'Cancel'),
          )
        : [
            h('button', { key: 'e', type: 'button', disabled: busy, onClick: exportIt, 'aria-label': `Export ${owner.name}` }, 'Export'),
            h('button', { key: 'x', type: 'button', disabled: busy, onClick: () => setConfirming(true), 'aria-label': `Erase ${owner.name}` }, 'Erase…'),
          ],
    ),
  );
}

/** Owners per region, with the data-subject rights as buttons; the server checks the role on every call. */
export function OwnersPage(props: { api: Api; session: SessionResponse }): ComponentChild {
  const [region, setRegion] = useState(props.session.regions[0] ?? '');
  const [after, setAfter] = useState<string[]>([]);
  const [page, setPage] = useState<OwnerPage | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [refresh, setRefresh] = useState(0);
  const cursor = after.at(-1);
  // Erasures made elsewhere (another tab, the tour) show within a few seconds.
  useEffect(() => {
    const timer = setInterval(() => setRefresh((n) => n + 1), RELOAD_MS);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    setError('');
    props.api
      .get<OwnerPage>(`/api/v1/owners?region=${region}&limit=50${cursor ? `&after=${cursor}` : ''}`)
      .then(setPage, (err: unknown) => setError(describeError(err)));
  }, [props.api, region, cursor, refresh]);
  const done = (text: string): void => {
    setMessage(text);
    setRefresh((n) => n + 1);
  };
  if (!props.session.canManageOwners)
    return h(
      'section',
      null,
      h('h2', null, 'Owners'),
      h('p', { class: 'notice' }, 'Your role cannot see owners: they are personal data, for admins and the operators of their region.'),
    );
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'section',
    { class: 'owners', 'aria-labelledby': 'owners-title' },
    h('h2', { id: 'owners-title' }, 'Owners'),
    h(
      'p',
      { class: 'hint' },
      'Names and contacts live only in the owner\u2019s home region, sealed under a key of their own; reading this list is an entry in that region\u2019s audit log.',
    ),
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
              setAfter([]);
              setRegion(controlValue(e));
            },
          },
          props.session.regions.map((r) => h('option', { key: r, value: r }, r.toUpperCase())),
        ),
      ),
    ),
    h('p', { role: 'status', class: 'status' }, message),
    error ? h('p', { role: 'alert', class: 'error' }, error) : null,
    page
      ? h(
          'table',
          { class: 'wide-table' },
          h('caption', null, `Owners in ${region.toUpperCase()}${after.length > 0 ? `, page ${after.length + 1}` : ''}`),
          h('thead', null, h('tr', null, th('name'), th('contact'), th('owner id'), th('machines'), th('created'), th('data-subject rights'))),
          h(
            'tbody',
            null,
            page.owners.length === 0
              ? h('tr', null, h('td', { colSpan: 6 }, 'No owners here.'))
              : page.owners.map((o) => h(OwnerRow, { key: o.id, api: props.api, owner: o, onDone: done })),
          ),
        )
      : h('p', null, 'Loading…'),
    h(
      'p',
      { class: 'actions' },
      h('button', { type: 'button', disabled: after.length === 0, onClick: () => setAfter((a) => a.slice(0, -1)) }, 'Previous page'),
      h('button', { type: 'button', disabled: !page?.next, onClick: () => page?.next && setAfter((a) => [...a, page.next!]) }, 'Next page'),
    ),
    h(
      'div',
      { class: 'forms' },
      h(CreateOwner, { api: props.api, region, onDone: done }),
      h(AttachDevice, { api: props.api, region, owners: page?.owners ?? [], onDone: done }),
    ),
  );
}
