import { h, type ComponentChild } from 'preact';
import type { FleetDevice } from '../../dashboard-api.ts';
import { deviceHref } from '../route.ts';

function why(device: FleetDevice, bodies: boolean): string {
  if (!bodies) return 'positions are event data, which your role does not see';
  const consented = device.consent?.categories.location ?? 'none';
  if (consented === 'none') return 'no location consent';
  return 'no position stored yet';
}

/** Machines the map must not show, as a table: which, where they belong, and why they are not on the map. */
export function OffMapTable(props: { devices: readonly FleetDevice[]; bodies: boolean }): ComponentChild {
  const off = props.devices.filter((d) => d.location === null);
  const th = (label: string): ComponentChild => h('th', { scope: 'col' }, label);
  return h(
    'section',
    { class: 'off-map', 'aria-labelledby': 'off-map-title' },
    h('h2', { id: 'off-map-title' }, `Not on the map (${off.length})`),
    off.length === 0
      ? h('p', null, 'Every machine has a shown position.')
      : h(
          'table',
          { class: 'wide-table' },
          h('thead', null, h('tr', null, th('machine'), th('region'), th('state'), th('location consent'), th('why not on the map'))),
          h(
            'tbody',
            null,
            off.map((device) =>
              h(
                'tr',
                { key: device.id, 'data-device': device.id },
                h('th', { scope: 'row' }, h('a', { href: deviceHref(device.id) }, device.id)),
                h('td', null, device.region.toUpperCase()),
                h('td', null, device.state ?? 'never seen'),
                h('td', null, device.consent?.categories.location ?? 'none'),
                h('td', null, why(device, props.bodies)),
              ),
            ),
          ),
        ),
  );
}
