/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { PlanesResponse } from '../../../../schema/directory.ts';
import type { Api } from '../api.ts';
import { SignIn } from '../views/sign-in.ts';
import { useTokenSession } from '../token-session.ts';
import { ComplianceSummary } from './compliance-summary.ts';
import { PlaneCards } from './plane-cards.ts';

/**
 * The deployment overview the global directory serves at `/`: each plane's health and counts, and the
 * deployment's compliance report, all from the directory's own API (counts only). Personal data is
 * never shown here: each card links to its plane's own dashboard, which reads that plane's API
 * directly. Its own key: a token for the directory is not a plane's, and the tab forgets it on close.
 */
const TOKEN_KEY = 'brewtel.directory-token';
const PLANES_PATH = '/api/v1/directory/planes';

function Overview(props: { api: Api; signOut(): void }): ComponentChild {
  return h(
    'div',
    { class: 'layout' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('h1', null, 'brewtel deployment'),
      h('p', { class: 'who' }, 'Signed in at the global directory ', h('button', { type: 'button', onClick: props.signOut }, 'Sign out')),
    ),
    h(
      'main',
      { id: 'main', tabIndex: -1, class: 'deployment' },
      h(
        'p',
        { class: 'hint' },
        'Counts only, from each plane through the directory. Devices, owners and events are shown by each plane’s own dashboard, from that plane’s API: follow its link.',
      ),
      h(PlaneCards, { api: props.api, path: PLANES_PATH }),
      h(ComplianceSummary, { api: props.api }),
    ),
  );
}

export function DeploymentApp(): ComponentChild {
  // The planes view is admin-only at the directory: answering it is what signing in means here.
  const { api, answer, error, signIn, signOut } = useTokenSession<PlanesResponse>(TOKEN_KEY, PLANES_PATH);
  if (!api || !answer) {
    return h(SignIn, {
      onSignIn: signIn,
      error,
      busy: api !== null,
      title: 'brewtel deployment',
      hint: 'Sign in with the directory’s admin token (npm start -- --planes printed it: the same admin token as every plane’s).',
    });
  }
  return h(Overview, { api, signOut });
}
