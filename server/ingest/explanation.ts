import { refusalExplanationSchema, type Finding, type RefusalExplanation } from '../../schema/refusal-explanation.ts';
import type { RefusalReason } from './reasons.ts';

/**
 * Builds the explanation ingest keeps with a refusal (schema/refusal-explanation.ts): the refusing
 * step's findings and the names of the fields the message carried. A path or field name is only a
 * name shaped like an identifier (see `safeName`), so a payload cannot smuggle its contents (an
 * owner's name, a card number, a position) into the explanation through its keys.
 */

/** Bounds, so a message with thousands of fields keeps a small explanation. */
export const MAX_FINDINGS = 24;
export const MAX_FIELDS = 64;
const MAX_DEPTH = 6;

/** Letters, digits and underscores, at most 40, at most 4 digits (no phone or card number fits). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
const MAX_NAME_DIGITS = 4;
/** What a field name that is not shaped like an identifier is shown as. */
export const UNNAMED = '?';

export function safeName(name: string): string {
  return IDENTIFIER.test(name) && name.replace(/[^0-9]/g, '').length <= MAX_NAME_DIGITS ? name : UNNAMED;
}

/** `body.items[2].name`; indexes are numbers the schema put there; deeper paths end in `…`. */
export function pathText(path: readonly PropertyKey[]): string {
  let text = '';
  for (const [i, segment] of path.entries()) {
    if (i === MAX_DEPTH) return `${text}…`;
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += (text === '' ? '' : '.') + safeName(String(segment));
  }
  return text;
}

/** The names of the fields a decoded payload carried, leaves only, arrays folded into `[]`. */
export function fieldNames(json: unknown): { fields: string[]; truncated: boolean } {
  const fields: string[] = [];
  let truncated = false;
  const seen = new Set<string>();
  const add = (name: string): void => {
    if (seen.has(name)) return;
    if (fields.length === MAX_FIELDS) {
      truncated = true;
      return;
    }
    seen.add(name);
    fields.push(name);
  };
  const walk = (value: unknown, prefix: string, depth: number): void => {
    if (Array.isArray(value)) {
      if (prefix !== '') add(`${prefix}[]`);
      return;
    }
    if (typeof value !== 'object' || value === null) {
      if (prefix !== '') add(prefix);
      return;
    }
    const keys = Object.keys(value);
    if (prefix !== '' && (keys.length === 0 || depth === MAX_DEPTH)) {
      add(prefix);
      return;
    }
    for (const key of keys) {
      if (truncated) return;
      const name = safeName(key);
      walk((value as Record<string, unknown>)[key], prefix === '' ? name : `${prefix}.${name}`, depth + 1);
    }
  };
  walk(json, '', 0);
  return { fields, truncated };
}

/** What a refusal says when its step gave no findings of its own: the reason in fixed words. */
const STANDARD: Readonly<Record<RefusalReason, Finding>> = {
  malformed_json: { path: 'payload', problem: 'not JSON' },
  schema_invalid: { path: 'payload', problem: 'breaks a rule of the contract' },
  topic_invalid: { path: 'topic', problem: 'not an event topic' },
  device_mismatch: { path: 'deviceId', problem: 'differs from the topic' },
  kind_mismatch: { path: 'kind', problem: 'differs from the topic' },
  unknown_device: { path: 'topic.deviceId', problem: 'not registered' },
  region_unavailable: { path: 'device.region', problem: 'no store in this deployment' },
  not_consented: { path: 'consent', problem: 'not consented' },
  device_erased: { path: 'device', problem: 'erased' },
  store_rejected: { path: 'row', problem: 'refused by the store' },
  clock_out_of_range: { path: 'ts', problem: 'too far ahead of the server clock' },
  internal_error: { path: 'ingest', problem: 'internal error' },
};

/** The explanation kept with a refusal: the step's findings (or the reason's standard one) and the payload's field names. */
export function explain(reason: RefusalReason, findings: readonly Finding[] | undefined, json: unknown, decoded: boolean): RefusalExplanation {
  const all = findings && findings.length > 0 ? findings : [STANDARD[reason]];
  const outline = decoded ? fieldNames(json) : { fields: null, truncated: false };
  return {
    findings: all.slice(0, MAX_FINDINGS),
    fields: outline.fields,
    truncated: all.length > MAX_FINDINGS || outline.truncated,
  };
}

/** A stored explanation read back; null for rows from before explanations or anything unreadable. */
export function readExplanation(text: string | null): RefusalExplanation | null {
  if (text === null) return null;
  try {
    const parsed = refusalExplanationSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
