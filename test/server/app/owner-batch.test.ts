import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionBatchResponseSchema } from '../../../schema/api.ts';
import { auditListResponseSchema, createOwnersBatchResponseSchema, OWNER_BATCH_MAX, ownerListResponseSchema, ownerSchema } from '../../../schema/privacy.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { callApi, expectApiError } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';
const OPERATOR_EU = 'operator-eu-token-0123456789';
const AUDITOR = 'auditor-token-0123456789abcd';

/** `POST /api/v1/owners:batch` on a real server (HTTP on port 0, SQLite stores). */
describe('batch owner creation', () => {
  let dataDir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-owner-batch-'));
    server = await startServer(
      serverConfigSchema.parse({
        regions: ['eu', 'us'],
        dataDir,
        http: { port: 0 },
        adminToken: ADMIN,
        brokerToken: BROKER,
        logLevel: 'silent',
        tokens: [
          { token: OPERATOR_EU, role: 'operator', region: 'eu' },
          { token: AUDITOR, role: 'auditor' },
        ],
      }),
      logger,
    );
  });
  afterAll(async () => {
    await server?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, path: string, token: string, body?: unknown) => callApi(server.httpUrl, method, path, token, body);
  const batch = (owners: unknown[], token = ADMIN) => call('POST', '/api/v1/owners:batch', token, { owners });
  const provision = async (regions: readonly string[]): Promise<string[]> => {
    const answer = await call('POST', '/api/v1/devices:batch', ADMIN, { devices: regions.map((region) => ({ region })) });
    expect(answer.status).toBe(201);
    return provisionBatchResponseSchema.parse(answer.json).devices.map((d) => d.id);
  };
  const ownerCount = async (region: string): Promise<number> =>
    ownerListResponseSchema.parse((await call('GET', `/api/v1/owners?region=${region}&limit=200`, ADMIN)).json).owners.length;
  const counts = async () => ({ eu: await ownerCount('eu'), us: await ownerCount('us') });

  it('creates owners across regions with their devices attached, in request order, sealed and audited like the single calls', async () => {
    const regions = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 'us' : 'eu'));
    const devices = await provision([...regions, 'eu']);
    const requests = regions.map((region, i) => ({
      region,
      name: `Owner ${i}`,
      contact: `owner${i}@example.org`,
      // The last eu owner gets two devices, one owner none: both are valid shapes.
      deviceIds: i === 0 ? [] : i === 29 ? [devices[i]!, devices[30]!] : [devices[i]!],
    }));
    const answer = await batch(requests);
    expect(answer.status).toBe(201);
    const { owners } = createOwnersBatchResponseSchema.parse(answer.json);
    expect(owners.map((o) => [o.region, o.name, o.contact, o.devices])).toEqual(requests.map((r) => [r.region, r.name, r.contact, r.deviceIds]));
    expect(new Set(owners.map((o) => o.id)).size).toBe(owners.length);
    for (const o of owners) expect(o.id.startsWith(`own-${o.region}-`)).toBe(true);

    // Readable through the single routes: opened from its sealed row, the devices attached in the store.
    for (const i of [0, 1, 3, 29]) {
      const read = await call('GET', `/api/v1/owners/${owners[i]!.id}`, ADMIN);
      expect(read.status).toBe(200);
      const owner = ownerSchema.parse(read.json);
      expect(owner).toMatchObject({ name: `Owner ${i}`, contact: `owner${i}@example.org`, pseudonym: owners[i]!.pseudonym });
      expect(owner.devices).toEqual([...requests[i]!.deviceIds].sort());
    }

    // The audit log of each region has owner.create and owner.attach_device, as the single calls write them.
    const audit = async (region: string, target: string) =>
      auditListResponseSchema.parse((await call('GET', `/api/v1/audit?region=${region}&target=${target}&limit=100`, AUDITOR)).json).entries;
    const eu = await audit('eu', owners[29]!.id);
    expect(eu.map((e) => [e.action, e.actor, e.detail])).toEqual([
      ['owner.create', 'admin', {}],
      ['owner.attach_device', 'admin', { deviceId: devices[29] }],
      ['owner.attach_device', 'admin', { deviceId: devices[30] }],
      ['owner.read', 'admin', {}],
    ]);
    const us = await audit('us', owners[0]!.id);
    expect(us.map((e) => e.action)).toEqual(['owner.create', 'owner.read']);
    expect(await audit('eu', owners[0]!.id)).toEqual([]);
    const verify = await call('GET', '/api/v1/audit/verify', AUDITOR);
    expect(verify.status).toBe(200);
    expect((verify.json.chains as { status: string }[]).every((c) => c.status === 'ok')).toBe(true);
  });

  it('hands a device over from its previous owner, as attaching it does', async () => {
    const [device] = await provision(['eu']);
    const first = createOwnersBatchResponseSchema.parse(
      (await batch([{ region: 'eu', name: 'First', contact: 'first@example.org', deviceIds: [device] }])).json,
    ).owners[0]!;
    const second = createOwnersBatchResponseSchema.parse(
      (await batch([{ region: 'eu', name: 'Second', contact: 'second@example.org', deviceIds: [device] }])).json,
    ).owners[0]!;
    expect(ownerSchema.parse((await call('GET', `/api/v1/owners/${first.id}`, ADMIN)).json).devices).toEqual([]);
    expect(ownerSchema.parse((await call('GET', `/api/v1/owners/${second.id}`, ADMIN)).json).devices).toEqual([device]);
  });

  it('refuses a batch naming a device of another region, an unknown device or one device twice, and writes none of it', async () => {
    const [eu1, eu2, us1, us2] = await provision(['eu', 'eu', 'us', 'us']);
    const before = await counts();
    const owner = (region: string, deviceIds: (string | undefined)[]) => ({ region, name: 'Ada Quill', contact: 'ada.quill@example.org', deviceIds });

    const mismatch = await batch([owner('us', [us1]), owner('eu', [eu1]), owner('eu', [us2])]);
    expectApiError(mismatch, 409, 'REGION_MISMATCH');
    expect(mismatch.json.message).toContain('owners[2]');
    expect(mismatch.json.message).toContain(us2);
    expectApiError(await batch([owner('eu', [eu1]), owner('eu', ['dev-00000000000000000000000000'])]), 404, 'NOT_FOUND');
    const twice = await batch([owner('eu', [eu1]), owner('eu', [eu2, eu1])]);
    expectApiError(twice, 400, 'VALIDATION_FAILED');
    expect(twice.json.message).toContain('owners[1]');
    expect(await counts()).toEqual(before);

    // Nothing was attached either: the devices are still free for a batch that is right.
    const right = await batch([owner('eu', [eu1, eu2]), owner('us', [us1])]);
    expect(right.status).toBe(201);
    expect(await counts()).toEqual({ eu: before.eu + 1, us: before.us + 1 });
  });

  it('refuses a batch over the limit with 400 BATCH_TOO_LARGE and bad entries in the one error shape', async () => {
    const before = await counts();
    const entry = { region: 'eu', name: 'Ada Quill', contact: 'ada.quill@example.org', deviceIds: [] };
    expectApiError(await batch(Array.from({ length: OWNER_BATCH_MAX + 1 }, () => entry)), 400, 'BATCH_TOO_LARGE');
    expectApiError(await batch([]), 400, 'VALIDATION_FAILED');
    expectApiError(await batch([{ ...entry, extra: 1 }]), 400, 'VALIDATION_FAILED');
    expectApiError(await batch([entry, { ...entry, region: 'mars' }]), 400, 'UNKNOWN_REGION');
    expect(await counts()).toEqual(before);
  });

  it('takes the same grants as the single routes: no token 401, auditor 403, an operator its own region only', async () => {
    const before = await counts();
    const entry = (region: string) => ({ region, name: 'Ada Quill', contact: 'ada.quill@example.org', deviceIds: [] });
    const anonymous = await fetch(`${server.httpUrl}/api/v1/owners:batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ owners: [entry('eu')] }),
    });
    expectApiError({ status: anonymous.status, json: await anonymous.json() }, 401, 'UNAUTHORIZED');
    expect((await batch([entry('eu')], AUDITOR)).status).toBe(403);
    expectApiError(await batch([entry('eu'), entry('us')], OPERATOR_EU), 403, 'REGION_FORBIDDEN');
    expect(await counts()).toEqual(before);
    expect((await batch([entry('eu')], OPERATOR_EU)).status).toBe(201);
    expect(await counts()).toEqual({ ...before, eu: before.eu + 1 });
  });

  it('creates a full batch of 1,000 and is in the OpenAPI document', async () => {
    const devices = await provision(Array.from({ length: OWNER_BATCH_MAX }, () => 'eu'));
    const answer = await batch(devices.map((deviceId, i) => ({ region: 'eu', name: `Owner ${i}`, contact: `o${i}@example.org`, deviceIds: [deviceId] })));
    expect(answer.status).toBe(201);
    const { owners } = createOwnersBatchResponseSchema.parse(answer.json);
    expect(owners.map((o) => o.devices[0])).toEqual(devices);
    const doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/api/v1/owners:batch']?.post).toBeDefined();
  });
});
