/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry } from '../../../../schema/privacy.ts';
import type { FleetResponse, SessionResponse } from '../../dashboard-api.ts';
import { describeError, type Api } from '../api.ts';
import { PRECISION_TEXT, timeOfDay } from '../format.ts';
import type { PageRoute } from '../route.ts';
import { auditAbout, eraseOwner, exportOwner, findLeakyMachine, findMapMachine, findOwner, withdrawLocation } from './tour-actions.ts';
import type { TourState } from './tour-state.ts';

export interface ChapterProps {
  api: Api;
  session: SessionResponse;
  state: TourState;
  update(patch: Partial<TourState>): void;
}

export interface Chapter {
  title: string;
  /** What the tour's `restart this chapter` forgets, so the chapter picks its subject again. */
  owns: readonly (keyof TourState)[];
  /** The page under the tour panel. */
  page(state: TourState): PageRoute;
  /** CSS selector of what the chapter points at on that page. */
  highlight(state: TourState): string | null;
  Body(props: ChapterProps): ComponentChild;
}

const onDevice = (id: string): string => `[data-device="${id}"], [data-devices~="${id}"]`;

/** Runs a chapter's search once while its answer is missing; reports failures in words. */
function useFind<T>(missing: boolean, find: () => Promise<T | null>, found: (value: T) => void): string {
  const [note, setNote] = useState('');
  useEffect(() => {
    if (!missing) return;
    setNote('Looking…');
    find().then(
      (value) => {
        if (value === null) setNote('Nothing suitable yet: the fleet may still be starting. Restart this chapter in a moment.');
        else {
          setNote('');
          found(value);
        }
      },
      (err: unknown) => setNote(`Could not look: ${describeError(err)}`),
    );
  }, [missing]);
  return note;
}

/** A button for one of the chapter's actions, with its outcome next to it (announced to screen readers). */
function Action(props: { label: string; done: string | null; run(): Promise<void>; disabled?: boolean }): ComponentChild {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const click = (): void => {
    setBusy(true);
    setError('');
    props
      .run()
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(false));
  };
  return h(
    'div',
    { class: 'tour-action' },
    h(
      'button',
      { type: 'button', class: 'primary', onClick: click, disabled: busy || props.disabled === true || props.done !== null },
      busy ? 'Working…' : props.label,
    ),
    h('p', { role: 'status' }, error ? h('span', { class: 'error' }, error) : (props.done ?? '')),
  );
}

function FleetChapter(props: ChapterProps): ComponentChild {
  const [fleet, setFleet] = useState<FleetResponse | null>(null);
  useEffect(() => {
    props.api.get<FleetResponse>('/api/v1/fleet').then(setFleet, () => setFleet(null));
  }, [props.api]);
  const per = props.session.regions.map((r) => `${fleet?.devices.filter((d) => d.region === r).length ?? '…'} in ${r.toUpperCase()}`).join(', ');
  return h(
    'div',
    null,
    h(
      'p',
      null,
      `These are simulated coffee machines (${per}). Each sends brews, status, faults, payments and its position over MQTT, and only what its owner consented to.`,
    ),
    h(
      'p',
      null,
      'Every machine belongs to one home region, decided when it was provisioned. Its data is stored only in that region\u2019s own store: the cards below the map count each store. Colour and shape tell the regions apart; a number marks machines at one place.',
    ),
    h('p', { class: 'hint' }, `Positions are shown at the precision consent allows: exact, or ${PRECISION_TEXT.coarse}.`),
  );
}

function LeakyChapter(props: ChapterProps): ComponentChild {
  const note = useFind(
    props.state.leaky === undefined,
    () => findLeakyMachine(props.api, props.session),
    (leaky) => props.update({ leaky }),
  );
  return h(
    'div',
    null,
    h(
      'p',
      null,
      'One machine runs the firmware from the story that started this project: it ignores consent and puts its owner\u2019s name, e-mail and phone, its exact position and card data into what it sends.',
    ),
    props.state.leaky
      ? h(
          'p',
          null,
          `It is ${props.state.leaky}. The server refuses every such message at the door: strict schemas allow no field the contract does not name, and no string that looks like a card number.`,
        )
      : h('p', { role: 'status' }, note),
    h(
      'p',
      null,
      'The highlighted part shows why, field by field, and what it tried to send by field name only, next to what was kept: nothing. The explanation itself holds no value of the message.',
    ),
  );
}

function ConsentChapter(props: ChapterProps): ComponentChild {
  const { state } = props;
  const note = useFind(
    state.subject === undefined,
    () => findMapMachine(props.api, props.session, state.leaky ? [state.leaky] : []),
    (subject) => props.update({ subject }),
  );
  return h(
    'div',
    null,
    h('p', null, 'Owners can withdraw consent at any time. The server records a new consent version, pushes it to the machine and enforces it at once.'),
    state.subject
      ? h('p', null, `The highlighted machine, ${state.subject}, is on the map because its owner consented to its location.`)
      : h('p', { role: 'status' }, note),
    h(Action, {
      label: 'Withdraw its location consent',
      disabled: state.subject === undefined,
      done: state.withdrawn ? `Consent version ${state.withdrawn.version} recorded at ${timeOfDay(state.withdrawn.at)}.` : null,
      run: async () => {
        const record = await withdrawLocation(props.api, state.subject!);
        props.update({ withdrawn: { version: record.version, at: record.issuedAt } });
      },
    }),
    state.withdrawn
      ? h(
          'p',
          null,
          'Its position left the map: the page shows positions only as precisely as consent allows now. It is listed under the map instead. The machine stops sending positions, and one that still arrives (from a firmware that ignores it) is refused as not_consented and counted.',
        )
      : null,
  );
}

function OwnerChapter(props: ChapterProps): ComponentChild {
  const { state } = props;
  const [audit, setAudit] = useState<AuditEntry[] | null>(null);
  const [confirming, setConfirming] = useState(false);
  const avoid = [state.leaky, state.subject].filter((x): x is string => x !== undefined);
  const note = useFind(
    state.owner === undefined,
    () => findOwner(props.api, props.session, avoid),
    (owner) => props.update({ owner }),
  );
  const owner = state.owner;
  const refreshAudit = (): Promise<void> => (owner ? auditAbout(props.api, owner).then(setAudit) : Promise.resolve());
  useEffect(() => {
    void refreshAudit().catch(() => setAudit(null));
  }, [owner?.id, state.exported, state.erased]);
  const exported = state.exported;
  return h(
    'div',
    null,
    h(
      'p',
      null,
      'An owner may ask for everything held about them, and for its erasure (GDPR articles 15, 17 and 20). Both run in the owner\u2019s home region only.',
    ),
    owner
      ? h('p', null, `The highlighted owner is ${owner.name} (${owner.id}), with ${owner.devices.length} machine(s) in ${owner.region.toUpperCase()}.`)
      : h('p', { role: 'status' }, note),
    h(Action, {
      label: '1. Export (downloads a file)',
      disabled: owner === undefined || state.erased !== undefined,
      done: exported
        ? `Saved owner-export-${owner?.id}.json: ${exported.devices} machine(s), ${exported.events} events, ${exported.quarantine} refusals, ${exported.audit} audit entries (${Math.round(exported.bytes / 1024)} KiB).`
        : null,
      run: async () => props.update({ exported: await exportOwner(props.api, owner!.id) }),
    }),
    confirming && !state.erased
      ? h(
          'div',
          { class: 'tour-action', role: 'group', 'aria-label': 'Confirm the erasure' },
          h('p', { class: 'warn' }, `Erase ${owner?.name} and what their machines sent while theirs, for good?`),
          h(Action, {
            label: 'Erase for good',
            done: null,
            run: async () => {
              props.update({ erased: await eraseOwner(props.api, owner!.id) });
              setConfirming(false);
            },
          }),
          h('button', { type: 'button', onClick: () => setConfirming(false) }, 'Cancel'),
        )
      : h(Action, {
          label: '2. Erase…',
          disabled: owner === undefined,
          done: state.erased
            ? `Erased: ${Object.entries(state.erased.erased)
                .map(([k, n]) => `${k} ${n}`)
                .join(', ')}; ${state.erased.tombstoned.length} machine(s) tombstoned, refused from now on.`
            : null,
          run: async () => setConfirming(true),
        }),
    audit
      ? h(
          'div',
          { class: 'tour-audit' },
          h('h3', null, 'Its audit entries, newest first'),
          h(
            'ol',
            { reversed: true },
            [...audit]
              .reverse()
              .slice(0, 8)
              .map((e) => h('li', { key: e.seq, 'data-action': e.action }, h('code', null, e.action), ` ${timeOfDay(e.at)} by ${e.actor}`)),
          ),
          h('p', { class: 'hint' }, 'Entries name ids and counts, never the owner\u2019s name; they are chained with a keyed hash, so an edit shows.'),
        )
      : null,
  );
}

function ResidencyChapter(): ComponentChild {
  return h(
    'div',
    null,
    h(
      'p',
      null,
      'Each region has a store of its own (here one SQLite file per region; in production a PostgreSQL per region). A global directory holds only which region a machine belongs to, nothing personal.',
    ),
    h(
      'p',
      null,
      'The compliance report checks it from the stores themselves: events of machines that belong elsewhere (residency violations), rows stored without consent, rows past their retention, and every audit chain. The highlighted table is per region; every must-be-zero figure is zero.',
    ),
    h('p', { class: 'hint' }, 'npm run compliance prints the same report and fails a CI job when one is not.'),
  );
}

/** The story in five chapters; each names its page, what it points at and what it does. */
export const CHAPTERS: readonly Chapter[] = [
  { title: 'The fleet and its regions', owns: [], page: () => ({ page: 'overview' }), highlight: () => '.map .world, .regions .cards', Body: FleetChapter },
  {
    title: 'The leaky machine, refused at the door',
    owns: ['leaky'],
    page: (s) => (s.leaky ? { page: 'device', id: s.leaky } : { page: 'overview' }),
    highlight: (s) => (s.leaky ? '.refusals' : null),
    Body: LeakyChapter,
  },
  {
    title: 'A consent withdrawal',
    owns: ['subject', 'withdrawn'],
    page: () => ({ page: 'overview' }),
    highlight: (s) => (s.subject ? onDevice(s.subject) : null),
    Body: ConsentChapter,
  },
  {
    title: 'An owner\u2019s export and erasure',
    owns: ['owner', 'exported', 'erased'],
    page: () => ({ page: 'owners' }),
    highlight: (s) => (s.owner && !s.erased ? `[data-owner="${s.owner.id}"]` : null),
    Body: OwnerChapter,
  },
  {
    title: 'Residency: a store per region',
    owns: [],
    page: () => ({ page: 'compliance' }),
    highlight: () => '.compliance .wide-table',
    Body: ResidencyChapter,
  },
];
