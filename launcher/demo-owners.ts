import { errorBodySchema } from '../schema/api.ts';
import { createOwnersBatchResponseSchema, OWNER_BATCH_MAX, ownerListResponseSchema, type Owner } from '../schema/privacy.ts';
import type { StoredMachine } from './fleet-credentials.ts';

/**
 * Made-up people for the demo fleet's owners, so the data-subject pages have someone to show. Given
 * and family names are combined by machine position: 64 distinct names, repeated with a number after
 * that. Contacts use example.org (RFC 2606), which no one can receive mail at.
 */
const GIVEN = ['Ada', 'Bruno', 'Cleo', 'Dario', 'Elin', 'Farid', 'Greta', 'Hugo'] as const;
const FAMILY = ['Quill', 'Marlow', 'Ventris', 'Oakes', 'Lindqvist', 'Tamura', 'Okafor', 'Brandt'] as const;

export function demoOwnerName(index: number): { name: string; contact: string } {
  const given = GIVEN[index % GIVEN.length]!;
  const family = FAMILY[Math.floor(index / GIVEN.length) % FAMILY.length]!;
  const round = Math.floor(index / (GIVEN.length * FAMILY.length));
  const suffix = round === 0 ? '' : ` ${round + 1}`;
  return { name: `${given} ${family}${suffix}`, contact: `${given}.${family}${round === 0 ? '' : round + 1}@example.org`.toLowerCase() };
}

const MAX_RATE_LIMITED_ATTEMPTS = 20;
const PAGE = 200;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The API as a user's script would call it: JSON, the admin token, a 429 waited out as Retry-After says. */
async function call(apiUrl: string, token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(new URL(path, apiUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 429 && attempt < MAX_RATE_LIMITED_ATTEMPTS) {
      await response.body?.cancel();
      await sleep(Math.min(Number(response.headers.get('retry-after')) || 1, 60) * 1000);
      continue;
    }
    const json: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = errorBodySchema.safeParse(json);
      throw new Error(`${method} ${path} failed: HTTP ${response.status} ${error.success ? error.data.code : 'unknown_error'}`);
    }
    return json;
  }
}

/** Every owner of the regions, with their devices, read through the owner list a page at a time. */
async function ownersOf(apiUrl: string, token: string, regions: readonly string[]): Promise<Map<string, Owner>> {
  const owners = new Map<string, Owner>();
  for (const region of regions) {
    for (let after: string | null = null; ; ) {
      const query: string = `/api/v1/owners?region=${region}&limit=${PAGE}${after === null ? '' : `&after=${after}`}`;
      const page = ownerListResponseSchema.parse(await call(apiUrl, token, 'GET', query));
      for (const owner of page.owners) owners.set(owner.id, owner);
      if (page.next === null) break;
      after = page.next;
    }
  }
  return owners;
}

/**
 * Gives every demo machine an owner, through the HTTP API as a user would: an owner in the machine's
 * region with the machine attached, created `POST /api/v1/owners:batch` at a time (1,000 machines a
 * call). A machine whose owner (from an earlier run, recorded in the credentials file) still owns it
 * keeps that owner, so a restart on the same data folder changes no one. Returns the machines with
 * their owner ids. `onProgress` hears how many machines were seen to so far, after each batch; once
 * `signal` aborts no further batch is sent (machines not reached keep no owner id).
 */
export async function ensureDemoOwners(
  machines: readonly StoredMachine[],
  apiUrl: string,
  token: string,
  onProgress?: (done: number) => void,
  signal?: AbortSignal,
): Promise<StoredMachine[]> {
  const known = machines.some((m) => m.ownerId !== undefined)
    ? await ownersOf(apiUrl, token, [...new Set(machines.map((m) => m.region))])
    : new Map<string, Owner>();
  const result = [...machines];
  for (let start = 0; start < result.length && signal?.aborted !== true; start += OWNER_BATCH_MAX) {
    const indexes: number[] = [];
    for (let index = start; index < Math.min(start + OWNER_BATCH_MAX, result.length); index++) {
      const machine = result[index]!;
      if (machine.ownerId === undefined || !known.get(machine.ownerId)?.devices.includes(machine.deviceId)) indexes.push(index);
    }
    if (indexes.length > 0) {
      const owners = indexes.map((index) => ({ region: result[index]!.region, ...demoOwnerName(index), deviceIds: [result[index]!.deviceId] }));
      const created = createOwnersBatchResponseSchema.parse(await call(apiUrl, token, 'POST', '/api/v1/owners:batch', { owners })).owners;
      indexes.forEach((index, i) => {
        result[index] = { ...result[index]!, ownerId: created[i]!.id };
      });
    }
    onProgress?.(Math.min(start + OWNER_BATCH_MAX, result.length));
  }
  return result;
}
