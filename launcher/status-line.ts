/** The live line and the final summary of `npm start`: counts only, never a payload. */
export interface Counts {
  elapsedS: number;
  published: number;
  stored: Record<string, number>;
  refused: Record<string, number>;
}

const total = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  return `${mm}:${String(s % 60).padStart(2, '0')}`;
}

export function statusLine(counts: Counts, regions: readonly string[]): string {
  const stored = regions.map((r) => `${r} ${counts.stored[r] ?? 0}`).join('  ');
  return `[${clock(counts.elapsedS)}] published ${counts.published} | stored ${stored} | refused ${total(counts.refused)}`;
}

/** Ends with one `key=value` line so scripts and CI can read the outcome. */
export function summary(counts: Counts, regions: readonly string[]): string {
  const perRegion = regions.map((r) => `stored_${r}=${counts.stored[r] ?? 0}`).join(' ');
  return [
    `ran ${counts.elapsedS.toFixed(1)} s`,
    `published=${counts.published} stored=${total(counts.stored)} refused=${total(counts.refused)} ${perRegion}`,
  ].join('\n');
}
