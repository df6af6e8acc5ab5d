/**
 * Counts of one fuzz run, per group: how many inputs were tried and how each one came out. A wrong
 * outcome keeps a short description (never a payload) so the report says what to reproduce.
 */
export type Verdict = 'ok' | 'crash' | 'wrongly_accepted' | 'wrongly_refused' | 'wrong_reason';

export interface GroupTally {
  group: string;
  tried: number;
  accepted: number;
  refused: number;
  counts: Record<Verdict, number>;
  failures: string[];
}

const FAILURES_KEPT = 20;

export function newGroup(group: string): GroupTally {
  return { group, tried: 0, accepted: 0, refused: 0, counts: { ok: 0, crash: 0, wrongly_accepted: 0, wrongly_refused: 0, wrong_reason: 0 }, failures: [] };
}

/** Records one input: `accepted` is what the system did, `verdict` what the oracle thinks of it. */
export function record(tally: GroupTally, accepted: boolean, verdict: Verdict, describe: () => string): void {
  tally.tried++;
  if (accepted) tally.accepted++;
  else tally.refused++;
  tally.counts[verdict]++;
  if (verdict !== 'ok' && tally.failures.length < FAILURES_KEPT) tally.failures.push(`${verdict}: ${describe()}`);
}

export function badCount(t: GroupTally): number {
  return t.counts.crash + t.counts.wrongly_accepted + t.counts.wrongly_refused + t.counts.wrong_reason;
}

/** The table and the one closing line every fuzz run prints. */
export function report(groups: readonly GroupTally[]): string {
  const sum = (pick: (t: GroupTally) => number): number => groups.reduce((s, t) => s + pick(t), 0);
  const header = ['group', 'tried', 'accepted', 'refused', 'wrong_reason', 'crashes', 'wrongly_accepted', 'wrongly_refused'];
  const rows = groups.map((t) =>
    [t.group, t.tried, t.accepted, t.refused, t.counts.wrong_reason, t.counts.crash, t.counts.wrongly_accepted, t.counts.wrongly_refused].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const failures = groups.flatMap((t) => t.failures.map((f) => `  [${t.group}] ${f}`));
  return [
    line(header),
    ...rows.map(line),
    ...(failures.length > 0 ? ['failures (first of each group):', ...failures] : []),
    `wrong_reason=${sum((t) => t.counts.wrong_reason)} tried=${sum((t) => t.tried)} crashes=${sum((t) => t.counts.crash)} wrongly_accepted=${sum((t) => t.counts.wrongly_accepted)} wrongly_refused=${sum((t) => t.counts.wrongly_refused)}`,
  ].join('\n');
}

/** A wrong outcome seen only in aggregate (counts by reason), not tied to one input. */
export function mismatch(tally: GroupTally, verdict: Exclude<Verdict, 'ok'>, n: number, text: string): void {
  tally.counts[verdict] += n;
  if (tally.failures.length < FAILURES_KEPT) tally.failures.push(`${verdict}: ${text}`);
}
