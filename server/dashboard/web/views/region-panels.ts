import { h, type ComponentChild } from 'preact';
import type { RegionPanel } from '../../dashboard-api.ts';
import { timeOfDay } from '../format.ts';
import { regionColor, regionShape, shapePath } from '../region-style.ts';
import { Sparkline } from './sparkline.ts';

function counts(caption: string, values: Record<string, number>, empty: string): ComponentChild {
  const rows = Object.entries(values).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return h('p', { class: 'hint' }, empty);
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  return h(
    'table',
    null,
    h('caption', null, `${caption}: ${total}`),
    h(
      'tbody',
      null,
      rows.map(([key, n]) => h('tr', { key }, h('th', { scope: 'row' }, key), h('td', null, String(n)))),
    ),
  );
}

/**
 * One card per region store the token may see. Two kinds of figures, each labelled with its span:
 * what the store holds (all time, quarantine rows capped per machine and hour) and what this server
 * process counted since it started (every refusal, written or not).
 */
export function RegionPanels(props: { panels: readonly RegionPanel[]; regions: readonly string[] }): ComponentChild {
  return h(
    'section',
    { class: 'regions', 'aria-labelledby': 'regions-title' },
    h('h2', { id: 'regions-title' }, 'Region stores'),
    h(
      'div',
      { class: 'cards' },
      props.panels.map((panel) => {
        const color = regionColor(panel.region, props.regions);
        return h(
          'article',
          { key: panel.region, class: 'card', 'data-region': panel.region, style: { borderTopColor: color } },
          h(
            'h3',
            null,
            h(
              'svg',
              { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' },
              h('path', { d: shapePath(regionShape(panel.region, props.regions), 8, 8, 5), fill: color }),
            ),
            ` Region ${panel.region.toUpperCase()}`,
          ),
          h('p', { class: 'span-label' }, 'In its store, all time'),
          h(
            'dl',
            { class: 'totals' },
            h('dt', null, 'events stored'),
            h('dd', { 'data-stored': panel.stored }, String(panel.stored)),
            h('dt', null, 'quarantine rows'),
            h('dd', null, String(panel.refused)),
            h('dt', null, 'residency violations'),
            h('dd', { class: panel.residencyViolations === 0 ? 'ok' : 'bad' }, panel.residencyViolations === 0 ? '0 ✓' : `${panel.residencyViolations} ✗`),
          ),
          h(Sparkline, { samples: panel.perSecond }),
          h('p', { class: 'span-label' }, `Since this server started (${timeOfDay(panel.since)})`),
          counts('stored, by kind', panel.storedByKind, 'Nothing stored since the server started.'),
          counts('refused, by reason', panel.refusedByReason, 'Nothing refused since the server started.'),
        );
      }),
    ),
    h(
      'p',
      { class: 'hint' },
      'Every refusal is counted; the quarantine keeps at most ingest.quarantinePerDeviceHour rows per machine and hour (100 by default), so it can hold fewer.',
    ),
  );
}
