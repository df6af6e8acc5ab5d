/**
 * A scenario's expectations against what a run saw, without I/O: each becomes a judgement that
 * names what was expected and what was there, so an unmet one explains itself in the report.
 */
import type { CommandResult } from '../schema/commands.ts';
import type { Expectation } from './scenario-schema.ts';

/** What a run saw at one moment, read from the stores, the ingest counts and the compliance report. */
export interface Facts {
  /** Acknowledged publishes of every machine. */
  published: number;
  /** Events the machines kept on the device because their consent did not allow them. */
  suppressed: number;
  /** Region -> event kind -> rows in that region's store. */
  storedByKind: Record<string, Record<string, number>>;
  /** Refusal reason code -> messages refused for it. */
  refusedByReason: Record<string, number>;
  commandResults: Array<CommandResult | { name: string; status: 'no_answer' }>;
  residencyViolations: number;
  unconsentedRows: number;
  complianceOk: boolean;
}

export interface Judgement {
  /** The expectation in words, e.g. `stored in eu of kind brew >= 10`. */
  description: string;
  passed: boolean;
  actual: number | boolean;
  /** Set when it failed: what was expected and what was seen. */
  message?: string;
}

interface Bounds {
  min?: number | undefined;
  max?: number | undefined;
  equals?: number | undefined;
}

const boundsText = (b: Bounds): string =>
  [b.equals !== undefined && `= ${b.equals}`, b.min !== undefined && `>= ${b.min}`, b.max !== undefined && `<= ${b.max}`].filter(Boolean).join(' and ');

const within = (value: number, b: Bounds): boolean =>
  (b.equals === undefined || value === b.equals) && (b.min === undefined || value >= b.min) && (b.max === undefined || value <= b.max);

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/** The expectation in words, as reports and error messages name it. */
export function describeExpectation(e: Expectation): string {
  if ('stored' in e)
    return `stored${e.stored.region ? ` in ${e.stored.region}` : ''}${e.stored.kind ? ` of kind ${e.stored.kind}` : ''} ${boundsText(e.stored)}`;
  if ('refused' in e) return `refused${e.refused.reason ? ` for ${e.refused.reason}` : ''} ${boundsText(e.refused)}`;
  if ('commandResults' in e) {
    const c = e.commandResults;
    return `command results${c.name ? ` of ${c.name}` : ''}${c.status ? ` with status ${c.status}` : ''} ${boundsText(c)}`;
  }
  if ('suppressed' in e) return `suppressed on the machines ${boundsText(e.suppressed)}`;
  if ('residencyViolations' in e) return `residency violations = ${e.residencyViolations}`;
  if ('unconsentedRows' in e) return `unconsented rows = ${e.unconsentedRows}`;
  return `compliance report ok = ${e.complianceOk}`;
}

function actualOf(e: Expectation, facts: Facts): number | boolean {
  if ('stored' in e) {
    const regions = e.stored.region ? [facts.storedByKind[e.stored.region] ?? {}] : Object.values(facts.storedByKind);
    return sum(regions.map((byKind) => (e.stored.kind ? (byKind[e.stored.kind] ?? 0) : sum(Object.values(byKind)))));
  }
  if ('refused' in e) return e.refused.reason ? (facts.refusedByReason[e.refused.reason] ?? 0) : sum(Object.values(facts.refusedByReason));
  if ('commandResults' in e) {
    const { name, status } = e.commandResults;
    return facts.commandResults.filter((r) => (name === undefined || r.name === name) && (status === undefined || r.status === status)).length;
  }
  if ('suppressed' in e) return facts.suppressed;
  if ('residencyViolations' in e) return facts.residencyViolations;
  if ('unconsentedRows' in e) return facts.unconsentedRows;
  return facts.complianceOk;
}

function passes(e: Expectation, actual: number | boolean): boolean {
  if ('stored' in e) return within(actual as number, e.stored);
  if ('refused' in e) return within(actual as number, e.refused);
  if ('commandResults' in e) return within(actual as number, e.commandResults);
  if ('suppressed' in e) return within(actual as number, e.suppressed);
  if ('residencyViolations' in e) return actual === e.residencyViolations;
  if ('unconsentedRows' in e) return actual === e.unconsentedRows;
  return actual === e.complianceOk;
}

export function judge(expectations: readonly Expectation[], facts: Facts): Judgement[] {
  return expectations.map((e) => {
    const description = describeExpectation(e);
    const actual = actualOf(e, facts);
    const passed = passes(e, actual);
    return passed ? { description, passed, actual } : { description, passed, actual, message: `expected ${description}, saw ${String(actual)}` };
  });
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentiles in milliseconds, one decimal; nulls when nothing was measured. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10;
  return { count: sorted.length, p50: rank(50), p95: rank(95), p99: rank(99), max: Math.round(sorted.at(-1)! * 10) / 10 };
}
