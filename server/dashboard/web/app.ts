/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { SessionResponse } from '../dashboard-api.ts';
import type { Api } from './api.ts';
import { parseRoute, useHash, type PageRoute } from './route.ts';
import { CHAPTERS } from './tour/chapters.ts';
import { TourPanel } from './tour/tour-panel.ts';
import { useTourState } from './tour/tour-state.ts';
import { AuditPage } from './views/audit-page.ts';
import { CompliancePage } from './views/compliance-page.ts';
import { DevicePage } from './views/device-page.ts';
import { LeakyDemo } from './views/leaky-demo.ts';
import { OwnersPage } from './views/owners-page.ts';
import { Overview } from './views/overview.ts';
import { QuarantinePage } from './views/quarantine-page.ts';
import { SignIn } from './views/sign-in.ts';
import { useTokenSession } from './token-session.ts';

/** Kept for the tab only: closing it signs out, and no other site can read it. */
const TOKEN_KEY = 'brewtel.token';

function page(route: PageRoute, api: Api, session: SessionResponse): ComponentChild {
  switch (route.page) {
    case 'device':
      return h(DevicePage, { key: route.id, api, session, id: route.id });
    case 'owners':
      return h(OwnersPage, { api, session });
    case 'audit':
      return h(AuditPage, { api, session });
    case 'quarantine':
      return h(QuarantinePage, { api, session });
    case 'compliance':
      return h(CompliancePage, { api });
    case 'demo':
      return h(LeakyDemo, { api, session });
    case 'overview':
      return h(Overview, { api, session });
  }
}

interface NavItem {
  href: string;
  label: string;
  page: PageRoute['page'] | 'tour';
  /** Offered only to roles the API lets use the page. */
  shown(session: SessionResponse): boolean;
}

const always = (): boolean => true;
const NAV: readonly NavItem[] = [
  { href: '#/', label: 'Overview', page: 'overview', shown: always },
  { href: '#/owners', label: 'Owners', page: 'owners', shown: (s) => s.canManageOwners },
  { href: '#/audit', label: 'Audit log', page: 'audit', shown: (s) => s.canReadAudit },
  { href: '#/quarantine', label: 'Quarantine', page: 'quarantine', shown: (s) => s.canReadQuarantine },
  { href: '#/compliance', label: 'Compliance report', page: 'compliance', shown: always },
  { href: '#/demo', label: 'Leaky device demo', page: 'demo', shown: always },
  { href: '#/tour/1', label: 'Tour', page: 'tour', shown: always },
];

function Signed(props: { api: Api; session: SessionResponse; signOut(): void }): ComponentChild {
  const { api, session } = props;
  const route = parseRoute(useHash());
  const [tour, updateTour, resetTour] = useTourState();
  const index = route.page === 'tour' ? Math.min(Math.max(route.chapter, 1), CHAPTERS.length) - 1 : -1;
  const chapter = CHAPTERS[index];
  const shown = chapter ? chapter.page(tour) : (route as PageRoute);
  const who = session.role + (session.role === 'operator' ? ` of ${session.regions.map((r) => r.toUpperCase()).join(', ')}` : '');
  return h(
    'div',
    { class: chapter ? 'layout with-tour' : 'layout' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('h1', null, 'brewtel'),
      h(
        'nav',
        { 'aria-label': 'Dashboard pages' },
        h(
          'ul',
          null,
          NAV.filter((item) => item.shown(session)).map((item) =>
            h('li', { key: item.href }, h('a', { href: item.href, 'aria-current': route.page === item.page ? 'page' : undefined }, item.label)),
          ),
          // A plane's way back to the deployment overview at the directory (counts of every plane, no personal data).
          session.deploymentUrl ? h('li', null, h('a', { href: `${session.deploymentUrl.replace(/\/+$/, '')}/`, 'data-deployment': '' }, 'Deployment')) : null,
        ),
      ),
      h('p', { class: 'who' }, `Signed in as ${who} `, h('button', { type: 'button', onClick: props.signOut }, 'Sign out')),
    ),
    h('main', { id: 'main', tabIndex: -1 }, page(shown, api, session)),
    chapter ? h(TourPanel, { api, session, state: tour, update: updateTour, chapters: CHAPTERS, index, restart: () => resetTour(chapter.owns) }) : null,
  );
}

export function App(): ComponentChild {
  const { api, answer: session, error, signIn, signOut } = useTokenSession<SessionResponse>(TOKEN_KEY, '/api/v1/dashboard/session');
  if (!api || !session) return h(SignIn, { onSignIn: signIn, error, busy: api !== null });
  return h(Signed, { api, session, signOut });
}
