import { randomBytes, scryptSync } from 'node:crypto';
import { expect } from 'vitest';
import { uuidv7 } from '../../../bench/ingest-event-ids.ts';
import { errorBodySchema } from '../../../schema/api.ts';
import type { EventEnvelope, EventKind } from '../../../schema/events.ts';
import type { ConsentCategories } from '../../../schema/consent.ts';
import type { ConsentRow } from '../../../server/store/types.ts';
import { validEvents } from '../../schema/samples.ts';

export function eventOf<K extends EventKind>(kind: K, deviceId: string, at = new Date(), seq = 1): Extract<EventEnvelope, { kind: K }> {
  return { ...structuredClone(validEvents[kind]), id: uuidv7(at.getTime()), deviceId, ts: at.toISOString(), seq, consentVersion: 1 };
}

export const ALL_CONSENT: ConsentCategories = { usage: true, location: 'exact', payment: true, diagnostics: true };

export function consentRow(deviceId: string, version: number, issuedAt: Date, categories: Partial<ConsentCategories>): ConsentRow {
  return {
    deviceId,
    version,
    issuedAt,
    categories: { usage: false, location: 'none', payment: false, diagnostics: false, ...categories },
    actor: 'test',
    channel: 'api',
  };
}

/** Polls until `check` passes or the bound runs out; for state reached over real sockets. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** The stored form devices were provisioned with before the keyed hash (scrypt, N=16384, r=8, p=1). */
/**
 * The secret with its last character changed, so it is certain to be wrong: a base64url secret of 256
 * bits ends in one of 16 characters, so replacing it by a fixed one would leave it right 1 time in 16.
 */
export const wrongSecret = (secret: string): string => `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;

export function legacyScryptHash(secret: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(secret, salt, 32, { N: 16_384, r: 8, p: 1 });
  return ['scrypt', 16_384, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** One API call as a client makes it: a bearer token, a JSON body when given; the status and the parsed body ({} when empty). */
export async function callApi(
  httpUrl: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The answer is an error in the one error shape, with this status and code. */
export function expectApiError(answer: { status: number; json: unknown }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(errorBodySchema.parse(answer.json)).toMatchObject({ statusCode: status, code });
}
