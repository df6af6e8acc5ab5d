/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditChainStatus, AuditEntry } from '../../../../schema/privacy.ts';
import type { SessionResponse } from '../../dashboard-api.ts';
import { describeError, type Api } from '../api.ts';
import { commitOnEnter, controlValue } from '../dom-values.ts';
import { dateTime } from '../format.ts';

const PAGE = 25;

interface AuditPage {
  entries: AuditEntry[];
  head?: number;
}

/** "ok" or why a chain is broken, in words and a sign, not by colour alone. */
export function chainText(chain: AuditChainStatus): string {
  if (chain.status === 'ok') return `intact ✓ (${chain.entries} entries${chain.checkpointSeq ? `, checkpoint at ${chain.checkpointSeq}` : ''})`;
  return `broken ✗: ${chain.reason ?? 'edited'}${chain.brokenAt ? ` at entry ${chain.brokenAt}` : ''}`;
}

/** Audit entries as a table, newest first. */
export function AuditTable(props: { entries: readonly AuditEntry[]; caption: string }): ComponentChild {
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'table',
    { class: 'wide-table audit' },
    h('caption', null, props.caption),
    h('thead', null, h('tr', null, th('#'), th('time'), th('actor'), th('action'), th('target'), th('detail'))),
    h(
      'tbody',
      null,
      props.entries.length === 0
        ? h('tr', null, h('td', { colSpan: 6 }, 'No entries.'))
        : [...props.entries]
            .reverse()
            .map((e) =>
              h(
                'tr',
                { key: e.seq, 'data-action': e.action },
                h('td', null, String(e.seq)),
                h('td', null, dateTime(e.at)),
                h('td', null, e.actor),
                h('th', { scope: 'row' }, e.action),
                h('td', null, h('code', null, e.target)),
                h('td', null, h('code', null, JSON.stringify(e.detail))),
              ),
            ),
    ),
  );
}

/**
 * A store's audit log, a page at a time from the newest end, and the verification of every chain.
 * `upTo` is the last seq of the page shown (null: the newest page).
 */
export function AuditPage(props: { api: Api; session: SessionResponse }): ComponentChild {
  const stores = [...props.session.regions, 'directory'];
  const [store, setStore] = useState(stores[0] ?? 'directory');
  const [target, setTarget] = useState('');
  const [draft, setDraft] = useState('');
  const [upTo, setUpTo] = useState<number | null>(null);
  const [page, setPage] = useState<AuditPage | null>(null);
  const [error, setError] = useState('');
  const [chains, setChains] = useState<AuditChainStatus[] | null>(null);
  const [verifying, setVerifying] = useState(false);
  const filter = target.trim() === '' ? '' : `&target=${encodeURIComponent(target.trim())}`;

  useEffect(() => {
    let stale = false;
    setError('');
    // Entries are numbered without gaps, so an older page is the `PAGE` entries up to `upTo`.
    const afterSeq = upTo === null ? 0 : Math.max(0, upTo - PAGE);
    const path =
      upTo === null || filter
        ? `/api/v1/audit?region=${store}&newest=true&limit=${PAGE}${filter}`
        : `/api/v1/audit?region=${store}&afterSeq=${afterSeq}&limit=${upTo - afterSeq}`;
    const load = async (): Promise<void> => {
      const answer = await props.api.get<AuditPage>(path);
      if (!stale) setPage(answer);
    };
    load().catch((err: unknown) => !stale && setError(describeError(err)));
    return () => {
      stale = true;
    };
  }, [props.api, store, upTo, filter]);

  const verify = (): void => {
    setVerifying(true);
    props.api
      .get<{ chains: AuditChainStatus[] }>('/api/v1/audit/verify')
      .then(
        (r) => setChains(r.chains),
        (err: unknown) => setError(describeError(err)),
      )
      .finally(() => setVerifying(false));
  };

  if (!props.session.canReadAudit)
    return h('section', null, h('h2', null, 'Audit log'), h('p', { class: 'notice' }, 'The audit log is for admins and auditors.'));
  const first = page?.entries[0]?.seq ?? 0;
  const last = page?.entries.at(-1)?.seq ?? 0;
  return h(
    'section',
    { class: 'audit-page', 'aria-labelledby': 'audit-title' },
    h('h2', { id: 'audit-title' }, 'Audit log'),
    h(
      'p',
      { class: 'hint' },
      'One hash chain per region store (what was done with personal data there) and one in the directory (logins). Entries hold ids and counts, never names.',
    ),
    h(
      'form',
      { class: 'filters', onSubmit: (e: Event) => e.preventDefault() },
      h(
        'label',
        null,
        'Store ',
        h(
          'select',
          {
            name: 'store',
            value: store,
            onChange: (e: Event) => {
              setUpTo(null);
              setStore(controlValue(e));
            },
          },
          stores.map((s) => h('option', { key: s, value: s }, s === 'directory' ? 'directory' : s.toUpperCase())),
        ),
      ),
      h(
        'label',
        null,
        'About (ids, comma-separated) ',
        h('input', {
          name: 'target',
          type: 'text',
          value: draft,
          placeholder: 'any',
          ...commitOnEnter(setDraft, (value) => {
            setUpTo(null);
            setTarget(value);
          }),
        }),
      ),
      h('button', { type: 'button', onClick: verify, disabled: verifying }, verifying ? 'Verifying…' : 'Verify every chain'),
    ),
    chains
      ? h(
          'table',
          { class: 'chains', 'data-verified': '' },
          h('caption', null, 'Chain verification'),
          h(
            'tbody',
            null,
            chains.map((c) =>
              h(
                'tr',
                { key: c.store, 'data-chain': c.status },
                h('th', { scope: 'row' }, c.store === 'directory' ? 'directory' : c.store.toUpperCase()),
                h('td', { class: c.status === 'ok' ? 'ok' : 'bad' }, chainText(c)),
              ),
            ),
          ),
        )
      : null,
    error ? h('p', { role: 'alert', class: 'error' }, error) : null,
    page
      ? h(AuditTable, {
          entries: page.entries,
          caption: filter ? `Latest entries about ${target.trim()} (${page.entries.length})` : `Entries ${first}–${last} of ${page.head ?? last}, newest first`,
        })
      : h('p', null, 'Loading…'),
    filter
      ? null
      : h(
          'p',
          { class: 'actions' },
          h(
            'button',
            { type: 'button', disabled: upTo === null, onClick: () => setUpTo((u) => (u === null || u + PAGE >= (page?.head ?? 0) ? null : u + PAGE)) },
            'Newer',
          ),
          h('button', { type: 'button', disabled: first <= 1, onClick: () => setUpTo(first - 1) }, 'Older'),
          h('button', { type: 'button', disabled: upTo === null, onClick: () => setUpTo(null) }, 'Newest'),
        ),
  );
}
