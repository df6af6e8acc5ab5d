import { h, type ComponentChild } from 'preact';
import type { RegionPanel } from '../../dashboard-api.ts';
import { regionColor } from '../colors.ts';
import { Sparkline } from './sparkline.ts';

function counts(caption: string, values: Record<string, number>, empty: string): ComponentChild {
  const rows = Object.entries(values).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return h('p', { class: 'hint' }, empty);
  return h('table', null,
    h('caption', null, caption),
    h('tbody', null, rows.map(([key, n]) => h('tr', { key }, h('th', { scope: 'row' }, key), h('td', null, String(n))))));
}

/** One card per region store the token may see. */
export function RegionPanels(props: { panels: readonly RegionPanel[]; regions: readonly string[] }): ComponentChild {
  return h('section', { class: 'regions', 'aria-labelledby': 'regions-title' },
    h('h2', { id: 'regions-title' }, 'Region stores'),
    h('div', { class: 'cards' }, props.panels.map((panel) => h('article', { key: panel.region, class: 'card', 'data-region': panel.region, style: { borderTopColor: regionColor(panel.region, props.regions) } },
      h('h3', null, `Region ${panel.region}`),
      h('dl', { class: 'totals' },
        h('dt', null, 'stored'), h('dd', { 'data-stored': panel.stored }, String(panel.stored)),
        h('dt', null, 'refused'), h('dd', null, String(panel.refused)),
        h('dt', null, 'residency violations'), h('dd', { class: panel.residencyViolations === 0 ? 'ok' : 'bad' }, String(panel.residencyViolations))),
      h(Sparkline, { samples: panel.perSecond }),
      counts('Stored by kind since server start', panel.storedByKind, 'Nothing stored since the server started.'),
      counts('Refused by reason since server start', panel.refusedByReason, 'Nothing refused since the server started.')))));
}
