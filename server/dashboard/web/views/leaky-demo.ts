/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { RegionPanelsResponse, SessionResponse } from '../../dashboard-api.ts';
import type { Api } from '../api.ts';
import { usePoll } from '../use-poll.ts';

/**
 * The story's machine, next to compliant ones. The server never starts simulated firmware itself
 * (server and simulator meet only on the wire), so the demo is a command the class runs.
 */
export function LeakyDemo(props: { api: Api; session: SessionResponse }): ComponentChild {
  const panels = usePoll<RegionPanelsResponse>(props.api, '/api/v1/dashboard/regions', 2_000);
  const command = `npm run sim -- --broker mqtt://${location.hostname}:1883 --api ${location.origin} --token "$TOKEN" --machines 4 --leaky 1 --duration 120`;
  const refused = (panels.data?.regions ?? []).map((p) => ({ region: p.region, reasons: p.refusedByReason }));
  return h('section', { class: 'demo', 'aria-labelledby': 'demo-title' },
    h('h2', { id: 'demo-title' }, 'Leaky device demo'),
    h('p', null, 'The leaky firmware behaves like the machine in the story: it sends the owner\u2019s name, an exact location and card data. Start it next to three compliant machines from a terminal in the project folder (set TOKEN to an admin or operator token; use the MQTT port npm start printed):'),
    h('pre', null, h('code', null, command)),
    h('p', null, 'Watch the live events on the overview: its messages arrive as refusals (schema_invalid), none becomes a stored event, and the refusal counts below grow.'),
    h('table', null, h('caption', null, 'Refusals by reason since server start'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'region'), h('th', { scope: 'col' }, 'refusals'))),
      h('tbody', null, refused.map((r) => h('tr', { key: r.region }, h('th', { scope: 'row' }, r.region),
        h('td', null, Object.entries(r.reasons).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'))))));
}
