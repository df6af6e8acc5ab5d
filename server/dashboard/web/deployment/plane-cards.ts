/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { PlaneStatus, PlanesResponse } from '../../../../schema/directory.ts';
import type { Api } from '../api.ts';
import { regionColor, regionShape, shapePath } from '../region-style.ts';
import { usePoll } from '../use-poll.ts';

const PLANES_EVERY_MS = 2_000;

/** Said in words as well as colour: up, degraded (a store or its broker link down) or down (no answer). */
const STATE_TEXT: Readonly<Record<PlaneStatus['state'], string>> = { up: 'up ✓', degraded: 'degraded ✗', down: 'down ✗' };
const count = (n: number | null): string => (n === null ? '–' : String(n));
/** A plane's dashboard is at the root of its API's address. */
const dashboardOf = (apiUrl: string): string => `${apiUrl.replace(/\/+$/, '')}/`;

function PlaneCard(props: { plane: PlaneStatus; regions: readonly string[] }): ComponentChild {
  const { plane } = props;
  const color = regionColor(plane.region, props.regions);
  const name = plane.region.toUpperCase();
  return h(
    'article',
    { class: 'card', 'data-region': plane.region, 'data-state': plane.state, style: { borderTopColor: color } },
    h(
      'h3',
      null,
      h(
        'svg',
        { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' },
        h('path', { d: shapePath(regionShape(plane.region, props.regions), 8, 8, 5), fill: color }),
      ),
      ` Plane ${name}`,
    ),
    h(
      'dl',
      { class: 'totals' },
      h('dt', null, 'health'),
      h('dd', { class: plane.state === 'up' ? 'ok' : 'bad', 'data-health': plane.state }, STATE_TEXT[plane.state]),
      h('dt', null, 'events stored'),
      h('dd', { 'data-stored': count(plane.stored) }, count(plane.stored)),
      h('dt', null, 'quarantine rows'),
      h('dd', null, count(plane.refused)),
      h('dt', null, 'devices (directory)'),
      h('dd', null, String(plane.devices)),
      h('dt', null, 'MQTT'),
      h('dd', null, h('code', null, plane.mqttUrl)),
    ),
    h('p', null, h('a', { href: dashboardOf(plane.apiUrl), 'data-dashboard': plane.region }, `Open the ${name} plane’s dashboard`)),
  );
}

/** One card per plane, polled; a plane that is down shows down while the others go on. */
export function PlaneCards(props: { api: Api; path: string }): ComponentChild {
  const planes = usePoll<PlanesResponse>(props.api, props.path, PLANES_EVERY_MS);
  const list = planes.data?.planes ?? [];
  const regions = list.map((p) => p.region);
  return h(
    'section',
    { class: 'regions', 'aria-labelledby': 'planes-title' },
    h('h2', { id: 'planes-title' }, `Planes (${list.length})`),
    planes.error ? h('p', { role: 'alert', class: 'error' }, `Planes: ${planes.error.message}`) : null,
    planes.data === null && planes.error === null ? h('p', null, 'Loading…') : null,
    h(
      'div',
      { class: 'cards' },
      list.map((plane) => h(PlaneCard, { key: plane.region, plane, regions })),
    ),
  );
}
