import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentComplianceSchema } from '../../schema/deployment.ts';
import { directoryProvisionResponseSchema } from '../../schema/directory.ts';
import { ownerSchema, type Owner } from '../../schema/privacy.ts';
import type { RunningDirectory } from '../../server/directory/directory.ts';
import type { RunningServer } from '../../server/server.ts';
import { call, DIRECTORY_ADMIN, LOOKUP, planeAdmin, planeOf, removeDir, startPlane, startTestDirectory, tempDir } from './planes.ts';

/**
 * The deployment's compliance report at the directory, from two real planes: their counts and
 * invariants, never a device id, an owner or a pseudonym; a plane that is down is listed unavailable.
 */
describe('GET /api/v1/directory/compliance', () => {
  let root: string;
  let eu: RunningServer;
  let us: RunningServer;
  let directory: RunningDirectory;
  const deviceIds: string[] = [];
  const owners: Owner[] = [];

  beforeAll(async () => {
    root = await tempDir('deployment-compliance');
    [eu, us] = await Promise.all([startPlane('eu', join(root, 'eu')), startPlane('us', join(root, 'us'))]);
    directory = await startTestDirectory(join(root, 'directory'), [planeOf('eu', eu), planeOf('us', us)]);
    for (const [region, server, count] of [
      ['eu', eu, 3],
      ['us', us, 2],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const device = directoryProvisionResponseSchema.parse(
          (await call(directory.url, 'POST', '/api/v1/directory/devices', DIRECTORY_ADMIN, { region })).json,
        );
        deviceIds.push(device.id);
        const created = await call(server.httpUrl, 'POST', '/api/v1/owners', planeAdmin(region), {
          region,
          name: `Owner ${region} ${i} Kowalska`,
          contact: `owner-${region}-${i}@example.test`,
        });
        const owner = ownerSchema.parse(created.json);
        owners.push(owner);
        expect((await call(server.httpUrl, 'POST', `/api/v1/owners/${owner.id}/devices`, planeAdmin(region), { deviceId: device.id })).status).toBe(200);
      }
    }
  });
  afterAll(async () => {
    await directory?.close();
    await Promise.all([eu?.close(), us?.close()]);
    await removeDir(root);
  });

  const report = async () => {
    const answer = await call(directory.url, 'GET', '/api/v1/directory/compliance', DIRECTORY_ADMIN);
    expect(answer.status).toBe(200);
    return { text: JSON.stringify(answer.json), report: deploymentComplianceSchema.parse(answer.json) };
  };

  it('sums each plane’s own report, and holds no device id, owner or pseudonym', async () => {
    const { text, report: deployment } = await report();
    expect(deployment.planes.map((p) => [p.region, p.state, p.figures?.devices, p.figures?.owners])).toEqual([
      ['eu', 'available', 3, 3],
      ['us', 'available', 2, 2],
    ]);
    expect(deployment.planes[0]?.apiUrl).toBe(eu.httpUrl);
    expect(deployment.totals).toMatchObject({ planes: 2, planesUnavailable: 0, devices: 5, owners: 5, residencyViolations: 0, auditChainsBroken: 0 });
    expect(deployment).toMatchObject({ complete: true, ok: true });
    expect(owners).toHaveLength(5);
    for (const personal of [...deviceIds, ...owners.flatMap((o) => [o.id, o.pseudonym, o.name, o.contact])]) {
      expect(text).not.toContain(personal);
    }
    expect(text).not.toMatch(/own-(eu|us)-/);
  });

  it('lists a plane that is down as unavailable and still answers with the other', async () => {
    await us.close();
    const { report: deployment } = await report();
    const [euPlane, usPlane] = deployment.planes;
    expect(euPlane).toMatchObject({ region: 'eu', state: 'available', reason: null });
    expect(usPlane).toMatchObject({ region: 'us', state: 'unavailable', figures: null });
    expect(usPlane?.reason).toContain('PLANE_UNAVAILABLE');
    expect(deployment.totals).toMatchObject({ planes: 2, planesUnavailable: 1, devices: 3, owners: 3 });
    expect(deployment).toMatchObject({ complete: false, ok: false });
  });

  it('is for the directory’s admin only', async () => {
    expect((await call(directory.url, 'GET', '/api/v1/directory/compliance')).status).toBe(401);
    expect((await call(directory.url, 'GET', '/api/v1/directory/compliance', LOOKUP)).status).toBe(403);
  });
});
