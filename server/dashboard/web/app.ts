/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { SessionResponse } from '../dashboard-api.ts';
import { ApiError, createApi, type Api } from './api.ts';
import { useRoute, type Route } from './route.ts';
import { CompliancePage } from './views/compliance-page.ts';
import { DevicePage } from './views/device-page.ts';
import { LeakyDemo } from './views/leaky-demo.ts';
import { Overview } from './views/overview.ts';
import { SignIn } from './views/sign-in.ts';

/** Kept for the tab only: closing it signs out, and no other site can read it. */
const TOKEN_KEY = 'brewtel.token';

function page(route: Route, api: Api, session: SessionResponse): ComponentChild {
  switch (route.page) {
    case 'device': return h(DevicePage, { api, session, id: route.id });
    case 'compliance': return h(CompliancePage, { api });
    case 'demo': return h(LeakyDemo, { api, session });
    case 'overview': return h(Overview, { api, session });
  }
}

const NAV: readonly { href: string; label: string; page: Route['page'] }[] = [
  { href: '#/', label: 'Overview', page: 'overview' },
  { href: '#/compliance', label: 'Compliance report', page: 'compliance' },
  { href: '#/demo', label: 'Leaky device demo', page: 'demo' },
];

export function App(): ComponentChild {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [session, setSession] = useState<SessionResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const route = useRoute();

  useEffect(() => {
    if (!api) return;
    api.get<SessionResponse>('/api/v1/dashboard/session').then(setSession, (err: unknown) => {
      setError(err instanceof ApiError ? `${err.message} (${err.code})` : 'the server could not be reached');
      sessionStorage.removeItem(TOKEN_KEY);
      setToken(null);
    });
  }, [api]);

  const signIn = (value: string): void => {
    setError(null);
    sessionStorage.setItem(TOKEN_KEY, value);
    setToken(value);
  };
  const signOut = (): void => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSession(null);
    setToken(null);
  };

  if (!api || !session) return h(SignIn, { onSignIn: signIn, error, busy: api !== null });
  const who = session.role + (session.role === 'operator' ? ` of ${session.regions.join(', ')}` : '');
  return h('div', { class: 'layout' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h('header', { class: 'top' },
      h('h1', null, 'brewtel'),
      h('nav', { 'aria-label': 'Dashboard pages' },
        h('ul', null, NAV.map((item) => h('li', { key: item.href },
          h('a', { href: item.href, 'aria-current': route.page === item.page ? 'page' : undefined }, item.label))))),
      h('p', { class: 'who' }, `Signed in as ${who} `, h('button', { type: 'button', onClick: signOut }, 'Sign out'))),
    h('main', { id: 'main', tabIndex: -1 }, page(route, api, session)));
}
