import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import type { FleetDeviceDetail, SessionResponse } from '../../server/dashboard/dashboard-api.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { ADMIN, AUDITOR, OPERATOR_EU, OPERATOR_US, startPrivacyStack, type PrivacyStack } from './fixture.ts';

/**
 * What the dashboard's privacy pages read: owners a page at a time, the audit log about given targets
 * from its newest end, a device's refusals with their explanations, and what the session offers.
 */
describe('routes behind the privacy pages', () => {
  let stack: PrivacyStack;
  let device: MqttClient;
  let leaky = '';
  const owners: Owner[] = [];

  const json = async <T>(method: string, path: string, token: string, body?: unknown): Promise<T> => {
    const response = await stack.api(method, path, token, body);
    expect(response.status, `${method} ${path}`).toBeLessThan(300);
    return response.json as T;
  };

  beforeAll(async () => {
    stack = await startPrivacyStack('sqlite', { dashboard: { mqttUrl: 'mqtt://127.0.0.1:18830', simulatedSpeed: 360 } });
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `dashboard-routes-${Date.now()}` });
    for (const name of ['Ada Quill', 'Bo Rivers', 'Cy Lumen'])
      owners.push(await json<Owner>('POST', '/api/v1/owners', ADMIN, { region: 'eu', name, contact: `${name.split(' ')[0]}@fiction.example` }));
    owners.push(await json<Owner>('POST', '/api/v1/owners', ADMIN, { region: 'us', name: 'Di Stone', contact: 'di@fiction.example' }));
    leaky = (await json<{ id: string }>('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT })).id;
    await json('POST', `/api/v1/owners/${owners[0]!.id}/devices`, ADMIN, { deviceId: leaky });
    const brew = eventOf('brew', leaky);
    await device.publishAsync(topics.event(leaky, 'brew'), JSON.stringify({ ...brew, body: { ...brew.body, ownerName: 'Ada Quill' } }), { qos: 1 });
    await eventually(async () => expect((await json<FleetDeviceDetail>('GET', `/api/v1/fleet/${leaky}`, ADMIN)).refusals).toHaveLength(1));
  }, 60_000);
  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  it("lists a region's owners with their devices, page by page, within the token's region, audited", async () => {
    const eu = owners
      .slice(0, 3)
      .map((o) => o.id)
      .sort();
    const first = await json<{ owners: Owner[]; next: string | null }>('GET', '/api/v1/owners?region=eu&limit=2', OPERATOR_EU);
    const second = await json<{ owners: Owner[]; next: string | null }>('GET', `/api/v1/owners?region=eu&limit=2&after=${first.next}`, OPERATOR_EU);
    expect([...first.owners, ...second.owners].map((o) => o.id)).toEqual(eu);
    expect(second.next).toBeNull();
    expect([...first.owners, ...second.owners].find((o) => o.id === owners[0]!.id)).toMatchObject({ name: 'Ada Quill', devices: [leaky] });
    expect(await stack.api('GET', '/api/v1/owners?region=us', OPERATOR_EU)).toMatchObject({ status: 403, json: { code: 'REGION_FORBIDDEN' } });
    expect(await stack.api('GET', '/api/v1/owners?region=eu', AUDITOR)).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
    expect(await stack.api('GET', `/api/v1/owners?region=eu&after=${owners[3]!.id}`, ADMIN)).toMatchObject({
      status: 400,
      json: { code: 'VALIDATION_FAILED' },
    });
    const log = await json<{ entries: AuditEntry[] }>('GET', '/api/v1/audit?region=eu&target=eu&limit=1000', AUDITOR);
    expect(log.entries.filter((e) => e.action === 'owners.list').map((e) => e.detail)).toEqual([{ owners: 2 }, { owners: 1 }]);
    // An erased owner is gone from the list.
    await json('DELETE', `/api/v1/owners/${owners[2]!.id}`, ADMIN);
    expect((await json<{ owners: Owner[] }>('GET', '/api/v1/owners?region=eu', ADMIN)).owners.map((o) => o.id)).not.toContain(owners[2]!.id);
  });

  it('reads the audit entries about given targets, and tells where the chain ends', async () => {
    const about = await json<{ entries: AuditEntry[]; head: number }>('GET', `/api/v1/audit?region=eu&target=${owners[0]!.id},${leaky}`, AUDITOR);
    expect(about.entries.every((e) => e.target === owners[0]!.id || e.target === leaky)).toBe(true);
    expect(about.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['owner.create', 'owner.attach_device', 'consent.change']));
    const whole = await json<{ entries: AuditEntry[]; head: number }>('GET', '/api/v1/audit?region=eu&limit=1000', AUDITOR);
    expect(about.head).toBe(whole.entries.at(-1)!.seq);
    // The newest page: the last three entries, asked for as such or as the ones after head - 3.
    const newest = await json<{ entries: AuditEntry[] }>('GET', '/api/v1/audit?region=eu&newest=true&limit=3', AUDITOR);
    expect(newest.entries.map((e) => e.seq)).toEqual([whole.head - 2, whole.head - 1, whole.head]);
    const after = await json<{ entries: AuditEntry[] }>('GET', `/api/v1/audit?region=eu&afterSeq=${whole.head - 3}&limit=3`, AUDITOR);
    expect(after.entries).toEqual(newest.entries);
    // The newest about one target, oldest first within the page.
    const latestAbout = await json<{ entries: AuditEntry[] }>('GET', `/api/v1/audit?region=eu&newest=true&limit=1&target=${owners[0]!.id}`, AUDITOR);
    expect(latestAbout.entries).toEqual([about.entries.filter((e) => e.target === owners[0]!.id).at(-1)]);
    const many = Array.from({ length: 51 }, (_, i) => `t${i}`).join(',');
    expect(await stack.api('GET', `/api/v1/audit?region=eu&target=${many}`, AUDITOR)).toMatchObject({ status: 400, json: { code: 'VALIDATION_FAILED' } });
  });

  it("shows a device's refusals with their explanation and never what it sent, to every dashboard role", async () => {
    for (const token of [ADMIN, OPERATOR_EU, AUDITOR]) {
      const detail = await json<FleetDeviceDetail>('GET', `/api/v1/fleet/${leaky}`, token);
      expect(detail.refusals).toEqual([
        expect.objectContaining({
          reason: 'schema_invalid',
          kind: 'brew',
          payloadKept: false,
          explanation: expect.objectContaining({
            findings: [{ path: 'body.ownerName', problem: 'not allowed' }],
            fields: expect.arrayContaining(['body.recipe', 'body.ownerName']),
          }),
        }),
      ]);
      expect(JSON.stringify(detail)).not.toContain('Ada');
    }
    const reads = (await json<{ entries: AuditEntry[] }>('GET', `/api/v1/audit?region=eu&target=${leaky}&limit=1000`, AUDITOR)).entries.filter(
      (e) => e.action === 'device.read_events',
    );
    expect(reads.at(-1)!.detail).toMatchObject({ via: 'dashboard', refusals: 1 });
  });

  it('tells the page what the role may do and how the deployment around it looks', async () => {
    const session = async (token: string): Promise<SessionResponse> => json<SessionResponse>('GET', '/api/v1/dashboard/session', token);
    expect(await session(ADMIN)).toMatchObject({
      canManageOwners: true,
      canReadAudit: true,
      canReadQuarantine: true,
      mqttUrl: 'mqtt://127.0.0.1:18830',
      simulatedSpeed: 360,
      // Not a regional plane: no directory to lead back to.
      deploymentUrl: null,
    });
    expect(await session(OPERATOR_US)).toMatchObject({ canManageOwners: true, canReadAudit: false, canReadQuarantine: true, regions: ['us'] });
    expect(await session(AUDITOR)).toMatchObject({ canManageOwners: false, canReadAudit: true, canReadQuarantine: false });
  });
});
