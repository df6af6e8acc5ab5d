/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import type { FleetDevice } from '../../dashboard-api.ts';
import { regionColor } from '../colors.ts';
import { MAP_HEIGHT, MAP_WIDTH, projectPoint } from '../map-projection.ts';
import { deviceHref } from '../route.ts';

function describe(device: FleetDevice): string {
  const location = device.location;
  return `Machine ${device.id}, region ${device.region}, ${device.state ?? 'state unknown'}, ${location ? `${location.precision} location` : 'no location'}`;
}

/**
 * Machines at the position their current consent allows. Colour is the home region; a filled dot is
 * online, a hollow one offline, a dashed one never seen. A coarse fix also gets its accuracy ring.
 */
export function FleetMap(props: { devices: readonly FleetDevice[]; regions: readonly string[] }): ComponentChild {
  const placed = props.devices.filter((d) => d.location !== null);
  return h('figure', { class: 'map' },
    h('svg', { viewBox: `0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`, role: 'group', 'aria-label': `World map with ${placed.length} machines at their consented location precision` },
      h('use', { href: '#land', class: 'land', width: MAP_WIDTH, height: MAP_HEIGHT }),
      placed.map((device) => {
        const location = device.location!;
        const point = projectPoint(location.lon, location.lat);
        const color = regionColor(device.region, props.regions);
        const state = device.state ?? 'unknown';
        return h('a', { key: device.id, href: deviceHref(device.id), class: `marker ${state} ${location.precision}`, 'aria-label': describe(device), 'data-device': device.id },
          h('title', null, describe(device)),
          location.precision === 'coarse' ? h('circle', { class: 'accuracy', cx: point[0], cy: point[1], r: 9, stroke: color }) : null,
          h('circle', { class: 'dot', cx: point[0], cy: point[1], r: 5, stroke: color, fill: state === 'online' ? color : '#ffffff' }));
      })),
    h('figcaption', null,
      h('ul', { class: 'legend', 'aria-label': 'Map legend' },
        props.regions.map((region) => h('li', { key: region }, h('span', { class: 'swatch', style: { background: regionColor(region, props.regions) } }), `region ${region}`)),
        h('li', null, h('span', { class: 'swatch filled' }), 'online'),
        h('li', null, h('span', { class: 'swatch hollow' }), 'offline'),
        h('li', null, h('span', { class: 'swatch ring' }), 'coarse location (about 11 km)'))));
}

/** Machines the map must not show: no location consent, or no fix stored yet. */
export function OffMapList(props: { devices: readonly FleetDevice[] }): ComponentChild {
  const off = props.devices.filter((d) => d.location === null);
  return h('section', { class: 'off-map', 'aria-labelledby': 'off-map-title' },
    h('h2', { id: 'off-map-title' }, `Not on the map (${off.length})`),
    h('p', { class: 'hint' }, 'No location consent, or no location stored yet.'),
    off.length === 0 ? h('p', null, 'Every machine has a shown position.') :
      h('ul', { class: 'device-list' }, off.map((device) => h('li', { key: device.id, 'data-device': device.id },
        h('a', { href: deviceHref(device.id) }, device.id),
        ` ${device.region} · ${device.state ?? 'never seen'} · location ${device.consent?.categories.location ?? 'none'}`))));
}
