/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useState } from 'preact/hooks';
import type { RegionPanelsResponse, SessionResponse } from '../../dashboard-api.ts';
import type { Api } from '../api.ts';
import { usePoll } from '../use-poll.ts';

/** The broker address as this browser reaches it: a listener on every address is reached at the page's host. */
export function brokerUrlFor(advertised: string | null, pageHost: string): string | null {
  if (advertised === null) return null;
  return advertised.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, `//${pageHost}`);
}

/** The simulator command, with what this session knows filled in; the token as given or masked. */
export function demoCommand(session: SessionResponse, origin: string, broker: string, token: string): string {
  const regions = session.role === 'operator' ? ` --regions ${session.regions.join(',')}` : '';
  return `npm run sim -- --broker ${broker} --api ${origin} --token ${token}${regions} --machines 4 --leaky 1 --duration 120`;
}

/**
 * The story's machine, next to compliant ones. The server never starts simulated firmware itself
 * (server and simulator meet only on the wire), so the demo is a command the class runs; it carries
 * this stack's real MQTT address and the signed-in token, which provisions the machines.
 */
export function LeakyDemo(props: { api: Api; session: SessionResponse }): ComponentChild {
  const panels = usePoll<RegionPanelsResponse>(props.api, '/api/v1/dashboard/regions', 2_000);
  const [showToken, setShowToken] = useState(false);
  const [copied, setCopied] = useState('');
  const { session } = props;
  const broker = brokerUrlFor(session.mqttUrl, location.hostname);
  const mayProvision = session.role === 'admin' || session.role === 'operator';
  const refused = (panels.data?.regions ?? []).map((p) => ({ region: p.region, reasons: p.refusedByReason }));
  const full = broker && mayProvision ? demoCommand(session, location.origin, broker, props.api.token) : null;
  const copy = (): void => {
    if (!full) return;
    navigator.clipboard.writeText(full).then(
      () => setCopied('Copied, token included.'),
      () => setCopied('Copying is not allowed here: show the token and select the command.'),
    );
  };
  return h(
    'section',
    { class: 'demo', 'aria-labelledby': 'demo-title' },
    h('h2', { id: 'demo-title' }, 'Leaky device demo'),
    h(
      'p',
      null,
      'The leaky firmware behaves like the machine in the story: it ignores consent and sends the owner\u2019s name and contact, an exact position and card data. Run it next to three compliant machines from a terminal in the project folder:',
    ),
    !mayProvision
      ? h('p', { class: 'notice' }, 'Your role cannot provision machines: sign in with the admin token or an operator token to get a command that works.')
      : broker === null
        ? h('p', { class: 'notice' }, 'This server was not told the MQTT address of its broker (npm start tells it): put it after --broker yourself.')
        : null,
    h(
      'pre',
      { 'data-command': '' },
      h('code', null, demoCommand(session, location.origin, broker ?? 'mqtt://BROKER-HOST:PORT', showToken ? props.api.token : '••••••••')),
    ),
    full
      ? h(
          'p',
          { class: 'actions' },
          h('button', { type: 'button', onClick: copy }, 'Copy command'),
          h('button', { type: 'button', 'aria-pressed': showToken, onClick: () => setShowToken((s) => !s) }, showToken ? 'Hide token' : 'Show token'),
          h('span', { role: 'status' }, copied),
        )
      : null,
    h(
      'p',
      null,
      'Watch the live events on the overview: its messages arrive as refusals (schema_invalid), each with why; none becomes a stored event, and the counts below grow. Each machine\u2019s page shows what it tried to send, by field name, and that nothing of it was kept.',
    ),
    h(
      'table',
      null,
      h('caption', null, 'Refusals by reason since this server started'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'region'), h('th', { scope: 'col' }, 'refusals'))),
      h(
        'tbody',
        null,
        refused.map((r) =>
          h(
            'tr',
            { key: r.region },
            h('th', { scope: 'row' }, r.region.toUpperCase()),
            h(
              'td',
              null,
              Object.entries(r.reasons)
                .map(([k, n]) => `${k}: ${n}`)
                .join(', ') || 'none',
            ),
          ),
        ),
      ),
    ),
  );
}
