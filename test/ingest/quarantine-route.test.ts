import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { RefusalExplanation } from '../../schema/refusal-explanation.ts';
import type { QuarantinedRow } from '../../server/store/types.ts';

const REGIONS = ['eu', 'us'];
const ADMIN = 'admin-token-0123456789abcdef';
const EU_OPERATOR = 'operator-eu-0123456789abcdef';
const US_OPERATOR = 'operator-us-0123456789abcdef';
const AUDITOR = 'auditor-token-0123456789abcd';

let dataDir: string;
let server: RunningServer | undefined;
const leaky = Buffer.from('{"owner":"Jane Doe"}\u0000\xff', 'latin1');
const explanation: RefusalExplanation = {
  findings: [{ path: 'body.ownerName', problem: 'not allowed' }],
  fields: ['v', 'kind', 'body.recipe', 'body.ownerName'],
  truncated: false,
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-quarantine-route-'));
  // Five refusals in eu (oldest first), none in us: written straight into the stores, as ingest would.
  const stores = await openStores({ regions: REGIONS, dataDir, stores: {} }, pino({ level: 'silent' }));
  const rows: QuarantinedRow[] = Array.from({ length: 5 }, (_, i) => ({
    receivedAt: new Date(Date.UTC(2026, 10, 28, 9, 0, i)),
    reason: i === 4 ? 'malformed_json' : 'schema_invalid',
    deviceId: `cm-quarantined${i}`,
    eventId: null,
    kind: 'brew',
    payload: i === 4 ? leaky : null,
    // Row 3 as today's ingest writes it; the others as rows from before explanations.
    explanation: i === 3 ? explanation : null,
  }));
  try {
    await stores.regions.get('eu')!.insertRefusals(rows);
  } finally {
    await stores.close();
  }
  server = await startServer(
    serverConfigSchema.parse({
      regions: REGIONS,
      dataDir,
      http: { port: 0 },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      tokens: [
        { role: 'operator', region: 'eu', token: EU_OPERATOR },
        { role: 'operator', region: 'us', token: US_OPERATOR },
        { role: 'auditor', token: AUDITOR },
      ],
      logLevel: 'silent',
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Page {
  region: string;
  entries: {
    id: number;
    receivedAt: string;
    reason: string;
    deviceId: string | null;
    kind: string | null;
    payloadBase64: string | null;
    explanation: RefusalExplanation | null;
  }[];
  next: number | null;
}

async function get(path: string, token?: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server!.httpUrl}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, body: await response.json() };
}

describe('GET /api/v1/regions/:region/quarantine', () => {
  it('pages through a region’s refusals, newest first, with the payload as received', async () => {
    const first = await get('/api/v1/regions/eu/quarantine?limit=2', ADMIN);
    expect(first.status).toBe(200);
    const page1 = first.body as Page;
    expect(page1.region).toBe('eu');
    expect(page1.entries.map((e) => e.deviceId)).toEqual(['cm-quarantined4', 'cm-quarantined3']);
    expect(page1.entries[0]).toMatchObject({ reason: 'malformed_json', kind: 'brew', receivedAt: '2026-11-28T09:00:04.000Z' });
    expect(Buffer.from(page1.entries[0]!.payloadBase64!, 'base64').equals(leaky)).toBe(true);
    expect(page1.entries[1]!.payloadBase64).toBeNull();
    expect(page1.entries[1]!.explanation).toEqual(explanation);
    expect(page1.entries[0]!.explanation).toBeNull();

    const page2 = (await get(`/api/v1/regions/eu/quarantine?limit=2&before=${page1.next}`, ADMIN)).body as Page;
    expect(page2.entries.map((e) => e.deviceId)).toEqual(['cm-quarantined2', 'cm-quarantined1']);
    const page3 = (await get(`/api/v1/regions/eu/quarantine?limit=2&before=${page2.next}`, ADMIN)).body as Page;
    expect(page3.entries.map((e) => e.deviceId)).toEqual(['cm-quarantined0']);
    expect(page3.next).toBeNull();

    expect((await get('/api/v1/regions/us/quarantine', ADMIN)).body).toEqual({ region: 'us', entries: [], next: null });
  });

  it("pages through one device's refusals", async () => {
    const page = (await get('/api/v1/regions/eu/quarantine?device=cm-quarantined3', ADMIN)).body as Page;
    expect(page.entries.map((e) => [e.deviceId, e.explanation])).toEqual([['cm-quarantined3', explanation]]);
    expect(await get('/api/v1/regions/eu/quarantine?device=Not%20a%20device', ADMIN)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('lets a region’s operator read that region only, and audits the read', async () => {
    expect(((await get('/api/v1/regions/eu/quarantine', EU_OPERATOR)).body as Page).entries).toHaveLength(5);
    const audit = (await get('/api/v1/audit?region=eu', AUDITOR)).body as { entries: { action: string; target: string; detail: Record<string, unknown> }[] };
    expect(audit.entries.filter((e) => e.action === 'quarantine.read').at(-1)).toMatchObject({ target: 'eu', detail: { entries: 5 } });
    expect(await get('/api/v1/regions/eu/quarantine', US_OPERATOR)).toEqual({
      status: 403,
      body: { statusCode: 403, code: 'REGION_FORBIDDEN', message: 'this token may act on region us only' },
    });
  });

  it('refuses other roles, missing tokens, unknown regions and bad paging with coded errors', async () => {
    expect(await get('/api/v1/regions/eu/quarantine', AUDITOR)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await get('/api/v1/regions/eu/quarantine')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await get('/api/v1/regions/mars/quarantine', ADMIN)).toMatchObject({ status: 400, body: { code: 'UNKNOWN_REGION' } });
    expect(await get('/api/v1/regions/eu/quarantine?limit=0', ADMIN)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await get('/api/v1/regions/eu/quarantine?before=x', ADMIN)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });
});
