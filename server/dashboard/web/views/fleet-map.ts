/// <reference lib="dom" />
import { h, type ComponentChild } from 'preact';
import { useState } from 'preact/hooks';
import type { FleetDevice } from '../../dashboard-api.ts';
import { PRECISION_TEXT, positionText } from '../format.ts';
import { clusterPoints, spreadOffsets, type Cluster } from '../map-clusters.ts';
import { MAP_HEIGHT, MAP_WIDTH, projectPoint } from '../map-projection.ts';
import { regionColor, regionShape, shapePath, type Shape } from '../region-style.ts';
import { deviceHref } from '../route.ts';

type Located = FleetDevice & { location: NonNullable<FleetDevice['location']> };
const ZOOMS = [1, 2, 4, 8, 16] as const;
/** Marker size on screen, in map units at zoom 1; divided by the zoom so markers keep their size. */
const MARKER_R = 5;
/** Markers closer than this (two radii, their strokes and a little air) would touch: they are grouped. */
const GROUP_RADIUS = 14;

function describe(device: FleetDevice): string {
  const location = device.location;
  return `Machine ${device.id}, region ${device.region.toUpperCase()}, ${device.state ?? 'never seen'}, ${location ? positionText(location) : 'no position'}`;
}

interface Look {
  regions: readonly string[];
  scale: number;
}

function marker(device: Located, x: number, y: number, look: Look): ComponentChild {
  const color = regionColor(device.region, look.regions);
  const state = device.state ?? 'unknown';
  const r = MARKER_R / look.scale;
  return h(
    'a',
    {
      key: device.id,
      href: deviceHref(device.id),
      class: `marker ${state} ${device.location.precision}`,
      'aria-label': describe(device),
      'data-device': device.id,
    },
    h('title', null, describe(device)),
    device.location.precision === 'coarse' ? h('circle', { class: 'accuracy', cx: x, cy: y, r: r * 1.9, stroke: color, 'stroke-width': 1 / look.scale }) : null,
    h('path', {
      class: 'dot',
      d: shapePath(regionShape(device.region, look.regions), x, y, r),
      stroke: color,
      'stroke-width': 2 / look.scale,
      fill: state === 'online' ? color : '#ffffff',
    }),
  );
}

/**
 * Several machines within a marker's width of each other: one marker with their count. Pressed, it
 * zooms in on them when that pulls them apart, and spreads them around it when nothing would (they
 * share one place, or the map is zoomed in all the way).
 */
function group(cluster: Cluster<Located>, open: boolean, zooms: boolean, press: () => void, look: Look): ComponentChild {
  const ids = cluster.members.map((m) => m.item.id);
  const regions = new Set(cluster.members.map((m) => m.item.region));
  const [only] = regions;
  const color = regions.size === 1 && only ? regionColor(only, look.regions) : '#333333';
  const label = `${ids.length} machines at one place (${[...regions].map((r) => r.toUpperCase()).join(', ')}): press to ${open ? 'gather them again' : zooms ? 'zoom in on them' : 'spread them out'}`;
  const r = (MARKER_R + 3) / look.scale;
  const offsets = open ? spreadOffsets(cluster.members.length, (MARKER_R * 3) / look.scale) : [];
  const onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      press();
    }
  };
  return h(
    'g',
    { key: cluster.key, class: `group${open ? ' open' : ''}`, 'data-devices': ids.join(' ') },
    open
      ? cluster.members.map((m, i) =>
          h('line', {
            key: `l${m.item.id}`,
            class: 'spoke',
            x1: cluster.x,
            y1: cluster.y,
            x2: cluster.x + offsets[i]![0],
            y2: cluster.y + offsets[i]![1],
            'stroke-width': 1 / look.scale,
          }),
        )
      : null,
    h(
      'g',
      { class: 'handle', role: 'button', tabIndex: 0, 'aria-expanded': open, 'aria-label': label, onClick: press, onKeyDown: onKey },
      h('title', null, label),
      h('circle', { cx: cluster.x, cy: cluster.y, r: open ? r * 0.6 : r, fill: color, stroke: '#ffffff', 'stroke-width': 1.5 / look.scale }),
      open ? null : h('text', { x: cluster.x, y: cluster.y, 'font-size': 9 / look.scale, dy: '0.35em' }, String(ids.length)),
    ),
    open ? cluster.members.map((m, i) => marker(m.item, cluster.x + offsets[i]![0], cluster.y + offsets[i]![1], look)) : null,
  );
}

function swatch(shape: Shape, color: string, fill: string, dashed = false): ComponentChild {
  return h(
    'svg',
    { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' },
    h('path', { d: shapePath(shape, 8, 8, 5), stroke: color, 'stroke-width': 2, fill, 'stroke-dasharray': dashed ? '2 2' : undefined }),
  );
}

/**
 * Machines at the position their current consent allows. Each region has a colour and a shape; a
 * filled marker is online, a hollow one offline, a dashed one never seen; a coarse fix has its
 * accuracy ring. Machines at one place are grouped; the zoom buttons pull nearby ones apart.
 */
export function FleetMap(props: { devices: readonly FleetDevice[]; regions: readonly string[] }): ComponentChild {
  const [view, setView] = useState({ zoom: 0, cx: MAP_WIDTH / 2, cy: MAP_HEIGHT / 2 });
  const [open, setOpen] = useState<string | null>(null);
  const scale = ZOOMS[view.zoom]!;
  const look: Look = { regions: props.regions, scale };
  const located = props.devices.filter((d): d is Located => d.location !== null).sort((a, b) => (a.id < b.id ? -1 : 1));
  const placed = located.map((item) => {
    const [x, y] = projectPoint(item.location.lon, item.location.lat);
    return { item, x, y };
  });
  const clusters = clusterPoints(placed, GROUP_RADIUS / scale, (d) => d.id);
  const width = MAP_WIDTH / scale;
  const height = MAP_HEIGHT / scale;
  const clamp = (value: number, half: number, max: number): number => Math.min(max - half, Math.max(half, value));
  const zoomTo = (zoom: number, cx = view.cx, cy = view.cy): void => {
    const next = ZOOMS[zoom]!;
    setOpen(null);
    setView({ zoom, cx: clamp(cx, MAP_WIDTH / next / 2, MAP_WIDTH), cy: clamp(cy, MAP_HEIGHT / next / 2, MAP_HEIGHT) });
  };
  const centreOnGroups = (): [number, number] => {
    const opened = clusters.find((c) => c.key === open);
    return opened ? [opened.x, opened.y] : [view.cx, view.cy];
  };
  /** The zoom level (past the current one) at which a group's members stop overlapping, if any. */
  const separatesAt = (cluster: Cluster<Located>): number | null => {
    for (let zoom = view.zoom + 1; zoom < ZOOMS.length; zoom++) {
      if (clusterPoints(cluster.members, GROUP_RADIUS / ZOOMS[zoom]!, (d) => d.id).length > 1) return zoom;
    }
    return null;
  };
  const pan = (dx: number, dy: number): void => zoomTo(view.zoom, view.cx + (dx * width) / 2, view.cy + (dy * height) / 2);
  return h(
    'figure',
    { class: 'map' },
    h(
      'div',
      { class: 'zoom', role: 'group', 'aria-label': 'Map zoom' },
      h(
        'button',
        {
          type: 'button',
          onClick: () => zoomTo(Math.min(ZOOMS.length - 1, view.zoom + 1), ...centreOnGroups()),
          disabled: view.zoom === ZOOMS.length - 1,
          'aria-label': 'Zoom in',
        },
        '+',
      ),
      h('button', { type: 'button', onClick: () => zoomTo(Math.max(0, view.zoom - 1)), disabled: view.zoom === 0, 'aria-label': 'Zoom out' }, '−'),
      h('button', { type: 'button', onClick: () => zoomTo(0), disabled: view.zoom === 0 }, 'Whole world'),
      (
        [
          ['←', 'west', -1, 0],
          ['→', 'east', 1, 0],
          ['↑', 'north', 0, -1],
          ['↓', 'south', 0, 1],
        ] as const
      ).map(([arrow, way, dx, dy]) =>
        h('button', { key: way, type: 'button', onClick: () => pan(dx, dy), disabled: view.zoom === 0, 'aria-label': `Move the map ${way}` }, arrow),
      ),
      h('span', { class: 'hint' }, `×${scale}`),
    ),
    h(
      'svg',
      {
        class: 'world',
        viewBox: `${(view.cx - width / 2).toFixed(1)} ${(view.cy - height / 2).toFixed(1)} ${width.toFixed(1)} ${height.toFixed(1)}`,
        role: 'group',
        'aria-label': `World map with ${located.length} machines at their consented precision, in ${clusters.length} places`,
        onKeyDown: (event: KeyboardEvent) => event.key === 'Escape' && setOpen(null),
      },
      h('use', { href: '#land', class: 'land', width: MAP_WIDTH, height: MAP_HEIGHT }),
      clusters.map((cluster) => {
        const [first] = cluster.members;
        if (cluster.members.length === 1 && first) return marker(first.item, first.x, first.y, look);
        const zoom = separatesAt(cluster);
        const press = (): void => {
          if (zoom !== null && open !== cluster.key) zoomTo(zoom, cluster.x, cluster.y);
          else setOpen((o) => (o === cluster.key ? null : cluster.key));
        };
        return group(cluster, open === cluster.key, zoom !== null, press, look);
      }),
    ),
    h(
      'figcaption',
      null,
      h(
        'ul',
        { class: 'legend', 'aria-label': 'Map legend' },
        props.regions.map((region) =>
          h(
            'li',
            { key: region },
            swatch(regionShape(region, props.regions), regionColor(region, props.regions), regionColor(region, props.regions)),
            `region ${region.toUpperCase()}`,
          ),
        ),
        h('li', null, swatch('circle', '#555555', '#555555'), 'online'),
        h('li', null, swatch('circle', '#555555', '#ffffff'), 'offline'),
        h('li', null, swatch('circle', '#555555', '#ffffff', true), 'never seen'),
        h(
          'li',
          null,
          h(
            'svg',
            { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' },
            h('circle', { cx: 8, cy: 8, r: 6.5, fill: 'none', stroke: '#555555', 'stroke-dasharray': '2 2' }),
            h('circle', { cx: 8, cy: 8, r: 3, fill: '#555555' }),
          ),
          `${PRECISION_TEXT.coarse} (dashed ring)`,
        ),
        h(
          'li',
          null,
          h(
            'svg',
            { class: 'swatch', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true' },
            h('circle', { cx: 8, cy: 8, r: 7, fill: '#333333' }),
            h('text', { x: 8, y: 8, dy: '0.35em', 'font-size': 9 }, '3'),
          ),
          'machines at one place: press to zoom in on them or spread them out',
        ),
      ),
    ),
  );
}
