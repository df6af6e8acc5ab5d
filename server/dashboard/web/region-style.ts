/**
 * How a region is told apart on the page: a colour from the Okabe–Ito palette (distinguishable with
 * the common colour-vision deficiencies) and, so that colour is never the only carrier, a shape on
 * the map and its name in capitals elsewhere. Regions beyond the default set take the next free ones.
 */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'hexagon', 'star', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];
const KNOWN: Readonly<Record<string, number>> = { eu: 0, us: 1, cn: 2 };

function slot(region: string, allRegions: readonly string[]): number {
  const known = KNOWN[region];
  if (known !== undefined) return known;
  const index = allRegions.filter((r) => KNOWN[r] === undefined).indexOf(region);
  return (3 + Math.max(index, 0)) % PALETTE.length;
}

export const regionColor = (region: string, allRegions: readonly string[]): string => PALETTE[slot(region, allRegions)]!;
export const regionShape = (region: string, allRegions: readonly string[]): Shape => SHAPES[slot(region, allRegions)]!;

const polygon = (cx: number, cy: number, r: number, corners: number, turn: number, inner = 1): string => {
  const points: string[] = [];
  const steps = inner === 1 ? corners : corners * 2;
  for (let i = 0; i < steps; i++) {
    const radius = i % 2 === 1 && inner !== 1 ? r * inner : r;
    const angle = turn + (i * 2 * Math.PI) / steps;
    points.push(`${(cx + radius * Math.cos(angle)).toFixed(2)},${(cy + radius * Math.sin(angle)).toFixed(2)}`);
  }
  return `M${points.join('L')}Z`;
};

/** An SVG path of the shape centred on (cx, cy), about as large as a circle of radius r. */
export function shapePath(shape: Shape, cx: number, cy: number, r: number): string {
  switch (shape) {
    case 'circle':
      return `M${cx - r},${cy}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`;
    case 'square':
      return polygon(cx, cy, r * 1.2, 4, Math.PI / 4);
    case 'triangle':
      return polygon(cx, cy + r * 0.2, r * 1.35, 3, -Math.PI / 2);
    case 'diamond':
      return polygon(cx, cy, r * 1.3, 4, 0);
    case 'hexagon':
      return polygon(cx, cy, r * 1.1, 6, 0);
    case 'star':
      return polygon(cx, cy, r * 1.4, 5, -Math.PI / 2, 0.5);
    case 'cross':
      return polygon(cx, cy, r * 1.3, 4, Math.PI / 4, 0.45);
  }
}
