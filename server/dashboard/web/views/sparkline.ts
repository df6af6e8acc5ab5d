import { h, type ComponentChild } from 'preact';
import type { RateSample } from '../../dashboard-api.ts';

const WIDTH = 180;
const HEIGHT = 40;

function points(values: readonly number[], max: number): string {
  const step = values.length > 1 ? WIDTH / (values.length - 1) : WIDTH;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - (v / max) * (HEIGHT - 2) - 1).toFixed(1)}`).join(' ');
}

/** Events per second over the last minute; the label says the numbers the lines show. */
export function Sparkline(props: { samples: readonly RateSample[] }): ComponentChild {
  const stored = props.samples.map((s) => s.stored);
  const refused = props.samples.map((s) => s.refused);
  const max = Math.max(1, ...stored, ...refused);
  const last = props.samples[props.samples.length - 1];
  const label = `Events per second over the last minute: now ${last?.stored ?? 0} stored and ${last?.refused ?? 0} refused, peak ${max}`;
  return h(
    'svg',
    { class: 'sparkline', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label },
    h('title', null, label),
    h('polyline', { class: 'stored', points: points(stored, max) }),
    h('polyline', { class: 'refused', points: points(refused, max) }),
  );
}
