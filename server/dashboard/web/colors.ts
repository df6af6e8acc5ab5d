/**
 * Region colours from the Okabe–Ito palette (distinguishable with the common colour-vision
 * deficiencies); regions beyond the default set take the next free one.
 */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const KNOWN: Readonly<Record<string, number>> = { eu: 0, us: 1, cn: 2 };

export function regionColor(region: string, allRegions: readonly string[]): string {
  const known = KNOWN[region];
  if (known !== undefined) return PALETTE[known]!;
  const index = allRegions.filter((r) => KNOWN[r] === undefined).indexOf(region);
  return PALETTE[(3 + Math.max(index, 0)) % PALETTE.length]!;
}
