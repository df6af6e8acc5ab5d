import type { z } from 'zod';
import { LOCATION_PRECISION_ORDER, type LocationPrecision } from '../../schema/consent.ts';
import { cardDataPaths } from '../../schema/events.ts';
import { COARSE_GRID_DEGREES, COARSE_MIN_ACCURACY_M } from '../../schema/location.ts';
import type { Finding, Problem } from '../../schema/refusal-explanation.ts';
import { pathText } from './explanation.ts';

type Issue = z.core.$ZodIssue;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function at(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const segment of path) {
    if (!isObject(value) && !Array.isArray(value)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/**
 * A zod issue in fixed words. Zod's own messages are never copied: some quote what was sent (an
 * unrecognised key's name, in `Unrecognized key: "…"`).
 */
function problemOf(issue: Issue, json: unknown, cardPaths: ReadonlySet<string>): Problem {
  switch (issue.code) {
    case 'invalid_type':
      return at(json, issue.path) === undefined ? 'missing' : 'wrong type';
    case 'too_big':
      return 'above its maximum';
    case 'too_small':
      return 'below its minimum';
    case 'invalid_format':
      return 'wrong format';
    case 'invalid_union':
      return issue.path.length === 1 && issue.path[0] === 'kind' ? 'not an event kind' : 'matches none of the allowed forms';
    case 'invalid_value':
    case 'not_multiple_of':
      return 'not an allowed value';
    case 'custom':
      return cardPaths.has(pathText(issue.path)) ? 'looks like a card number' : 'breaks a rule of the contract';
    case 'unrecognized_keys':
    case 'invalid_key':
    case 'invalid_element':
      return 'not allowed';
  }
}

/** Deeper than any field of the contract: what lies below is left out of the card scan (a payload may nest 100,000 levels). */
const SCAN_DEPTH = 8;

/** A copy of the decoded payload without what lies deeper than `depth`, so the scan cannot run out of stack. */
function shallow(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth === 0) return null;
  if (Array.isArray(value)) return value.map((item) => shallow(item, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shallow(item, depth - 1)]));
}

/**
 * What the contract's schema found wrong with a decoded payload: one finding per failed path (each
 * field outside a strict object on its own), plus every string that looks like a card number, which
 * zod does not report once an object already has fields it does not allow.
 */
export function schemaFindings(issues: readonly Issue[], json: unknown): Finding[] {
  const cardPaths = new Set(cardDataPaths(shallow(json, SCAN_DEPTH)).map(pathText));
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const add = (path: string, problem: Problem): void => {
    const key = `${path}\u0000${problem}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ path, problem });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) add(pathText([...issue.path, key]), 'not allowed');
    else add(pathText(issue.path), problemOf(issue, json, cardPaths));
  }
  for (const path of cardPaths) add(path, 'looks like a card number');
  return findings;
}

const offGrid = (value: number): boolean => Math.abs(value / COARSE_GRID_DEGREES - Math.round(value / COARSE_GRID_DEGREES)) > 1e-6;

/**
 * For a location message: which of its fields say more than the consent in force allows (the
 * stricter of the consent at its time and now, as the consent step decides). An exact fix where only
 * coarse is consented names the coordinates, the accuracy and the precision it claims.
 */
export function precisionFindings(json: unknown, allowed: LocationPrecision): Finding[] {
  if (!isObject(json) || json.kind !== 'location') return [];
  if (allowed === 'none') return [{ path: 'body', problem: 'location not consented' }];
  const body = json.body;
  if (allowed === 'exact' || !isObject(body)) return [];
  const findings: Finding[] = [];
  for (const axis of ['lat', 'lon'] as const) {
    const value = body[axis];
    if (typeof value === 'number' && offGrid(value)) findings.push({ path: `body.${axis}`, problem: 'more precise than consented' });
  }
  if (typeof body.accuracyM === 'number' && body.accuracyM < COARSE_MIN_ACCURACY_M)
    findings.push({ path: 'body.accuracyM', problem: 'more precise than consented' });
  if (body.precision === 'exact') findings.push({ path: 'body.precision', problem: 'more precise than consented' });
  return findings;
}

/** The less revealing of two precisions. */
export function stricter(a: LocationPrecision, b: LocationPrecision): LocationPrecision {
  return LOCATION_PRECISION_ORDER.indexOf(a) <= LOCATION_PRECISION_ORDER.indexOf(b) ? a : b;
}
