import { h, type ComponentChild } from 'preact';
import type { FleetResponse, RegionPanelsResponse, SessionResponse } from '../../dashboard-api.ts';
import type { Api } from '../api.ts';
import { usePoll } from '../use-poll.ts';
import { EventStream } from './event-stream.ts';
import { FleetMap } from './fleet-map.ts';
import { OffMapTable } from './off-map-table.ts';
import { RegionPanels } from './region-panels.ts';

const FLEET_EVERY_MS = 3_000;
const PANELS_EVERY_MS = 2_000;

export function Overview(props: { api: Api; session: SessionResponse }): ComponentChild {
  const fleet = usePoll<FleetResponse>(props.api, '/api/v1/fleet', FLEET_EVERY_MS);
  const panels = usePoll<RegionPanelsResponse>(props.api, '/api/v1/dashboard/regions', PANELS_EVERY_MS);
  const devices = fleet.data?.devices ?? [];
  return h(
    'div',
    { class: 'overview' },
    h(
      'section',
      { class: 'fleet', 'aria-labelledby': 'fleet-title' },
      h('h2', { id: 'fleet-title' }, `Fleet (${devices.length} machines in ${props.session.regions.map((r) => r.toUpperCase()).join(', ')})`),
      fleet.error ? h('p', { role: 'alert', class: 'error' }, `Fleet: ${fleet.error.message}`) : null,
      props.session.bodies ? null : h('p', { class: 'hint' }, 'Positions are event data, which your role does not see.'),
      h(FleetMap, { devices, regions: props.session.regions }),
      h(OffMapTable, { devices, bodies: props.session.bodies }),
    ),
    panels.data ? h(RegionPanels, { panels: panels.data.regions, regions: props.session.regions }) : null,
    h(EventStream, { api: props.api, session: props.session }),
  );
}
