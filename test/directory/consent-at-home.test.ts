import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBatchResponseSchema } from '../../schema/api.ts';
import { consentRecordSchema } from '../../schema/consent.ts';
import { directoryProvisionBatchResponseSchema } from '../../schema/directory.ts';
import { auditListResponseSchema } from '../../schema/privacy.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, planeAdmin, planeOf, planeOperator, removeDir, startPlane, startTestDirectory, tempDir } from './planes.ts';

const USAGE_ONLY = { usage: true, location: 'none', payment: false, diagnostics: false } as const;
const ALL = { usage: true, location: 'exact', payment: true, diagnostics: true } as const;

/**
 * Provisioned through the directory (region only), the owners' choices are then set at the home plane
 * directly with `PUT /api/v1/devices/consent:batch`: one call per plane, checked whole before a write.
 */
describe('consent set at the home plane after provisioning through the directory', () => {
  let root: string;
  let eu: RunningServer;
  let us: RunningServer;
  let directory: RunningDirectory;
  let euIds: string[] = [];
  let usIds: string[] = [];

  beforeAll(async () => {
    root = await tempDir('consent-home');
    [eu, us] = await Promise.all([startPlane('eu', join(root, 'eu')), startPlane('us', join(root, 'us'))]);
    directory = await startTestDirectory(join(root, 'directory'), [planeOf('eu', eu), planeOf('us', us)]);
    const answer = await call(directory.url, 'POST', '/api/v1/directory/devices:batch', DIRECTORY_ADMIN, {
      devices: [{ region: 'eu' }, { region: 'us' }, { region: 'eu' }, { region: 'eu' }],
    });
    const { devices } = directoryProvisionBatchResponseSchema.parse(answer.json);
    euIds = devices.filter((d) => d.region === 'eu').map((d) => d.id);
    usIds = devices.filter((d) => d.region === 'us').map((d) => d.id);
  });
  afterAll(async () => {
    await directory?.close();
    await Promise.all([eu?.close(), us?.close()]);
    await removeDir(root);
  });

  const consentOf = async (server: RunningServer, region: string, id: string) =>
    consentRecordSchema.parse(((await call(server.httpUrl, 'GET', `/api/v1/devices/${id}`, planeAdmin(region))).json as { consent: unknown }).consent);
  const batch = (server: RunningServer, token: string, devices: unknown[]) => call(server.httpUrl, 'PUT', '/api/v1/devices/consent:batch', token, { devices });

  it('records each choice as the next version, in request order, audited in the region like a single change', async () => {
    const choices = [USAGE_ONLY, ALL, USAGE_ONLY];
    const answer = await batch(
      eu,
      planeOperator('eu'),
      euIds.map((id, i) => ({ id, consent: choices[i] })),
    );
    expect(answer.status).toBe(200);
    const { records } = consentBatchResponseSchema.parse(answer.json);
    expect(records.map((r) => [r.deviceId, r.version, r.categories])).toEqual(euIds.map((id, i) => [id, 2, choices[i]]));
    for (const [i, id] of euIds.entries()) expect(await consentOf(eu, 'eu', id)).toMatchObject({ version: 2, categories: choices[i] });
    const audit = auditListResponseSchema.parse(
      (await call(eu.httpUrl, 'GET', `/api/v1/audit?region=eu&target=${euIds.join(',')}&limit=1000`, planeAdmin('eu'))).json,
    );
    const changes = audit.entries.filter((e) => e.action === 'consent.change' && e.detail.version === 2);
    expect(changes.map((e) => e.target).sort()).toEqual([...euIds].sort());
    // A single change afterwards goes on from the batch's version.
    const single = await call(eu.httpUrl, 'PUT', `/api/v1/devices/${euIds[0]}/consent`, planeAdmin('eu'), ALL);
    expect(consentRecordSchema.parse(single.json).version).toBe(3);
  });

  it('answers the directory’s provisioning (`?omit=consent`) with the credentials only, so no consent record reaches it', async () => {
    for (const [path, body] of [
      ['/api/v1/devices?omit=consent', { region: 'eu' }],
      ['/api/v1/devices:batch?omit=consent', { devices: [{ region: 'eu' }] }],
    ] as const) {
      const answer = await call(eu.httpUrl, 'POST', path, planeOperator('eu'), body);
      expect(answer.status).toBe(201);
      const device = 'devices' in body ? (answer.json as { devices: object[] }).devices[0] : answer.json;
      expect(Object.keys(device as object).sort()).toEqual(['id', 'region', 'secret']);
    }
    const plain = await call(eu.httpUrl, 'POST', '/api/v1/devices', planeOperator('eu'), { region: 'eu' });
    expect(plain.json).toHaveProperty('consent.version', 1);
  });

  it('refuses the whole batch, writing nothing, for a device the plane does not hold, one listed twice, or too many', async () => {
    const before = await Promise.all(euIds.map((id) => consentOf(eu, 'eu', id)));
    // The us device is not eu's: its home plane is the only one that may set its consent.
    const foreign = await batch(eu, planeOperator('eu'), [
      { id: euIds[1], consent: USAGE_ONLY },
      { id: usIds[0], consent: USAGE_ONLY },
    ]);
    expect(foreign).toMatchObject({ status: 404, json: { code: 'NOT_FOUND', message: expect.stringContaining('devices[1]') } });
    const twice = await batch(eu, planeOperator('eu'), [
      { id: euIds[1], consent: USAGE_ONLY },
      { id: euIds[1], consent: ALL },
    ]);
    expect(twice).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED' } });
    const many = await batch(
      eu,
      planeOperator('eu'),
      Array.from({ length: 1_001 }, (_, i) => ({ id: `cm-${String(i).padStart(8, '0')}`, consent: ALL })),
    );
    expect(many).toMatchObject({ status: 400, json: { code: 'BATCH_TOO_LARGE' } });
    expect(await batch(eu, planeOperator('eu'), [{ id: euIds[1], consent: { usage: true } }])).toMatchObject({
      status: 400,
      json: { code: 'VALIDATION_FAILED' },
    });
    expect(await batch(eu, '', [{ id: euIds[1], consent: ALL }])).toMatchObject({ status: 401 });
    expect(await Promise.all(euIds.map((id) => consentOf(eu, 'eu', id)))).toEqual(before);
    // The us device still consents to nothing: provisioning through the directory set nothing.
    expect((await consentOf(us, 'us', usIds[0]!)).version).toBe(1);
  });
});
