import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../schema/privacy.ts';
import { ALL_CONSENT } from '../server/app/helpers.ts';
import { ADMIN, AUDITOR, OPERATOR_EU, startPrivacyStack, type PrivacyStack } from './fixture.ts';

/**
 * The device API and the dashboard's fleet routes see devices through one device view
 * (server/http/device-view.ts): the same devices listed, an erased device gone from both and 404 in
 * both, another region 403 in both, and every read of events one audit entry.
 */
describe('one view of devices for the device API and the dashboard', () => {
  let stack: PrivacyStack;
  const eu: string[] = [];
  let us = '';

  const provision = async (region: string): Promise<string> =>
    ((await stack.api('POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT })).json as { id: string }).id;
  const listed = async (path: string, token: string): Promise<string[]> => {
    const { json } = await stack.api('GET', path, token);
    return (json as { devices: { id: string }[] }).devices.map((d) => d.id).sort();
  };
  const reads = async (deviceId: string): Promise<AuditEntry[]> => {
    const log = (await stack.api('GET', '/api/v1/audit?region=eu&limit=1000', AUDITOR)).json as { entries: AuditEntry[] };
    return log.entries.filter((e) => e.action === 'device.read_events' && e.target === deviceId);
  };

  beforeAll(async () => {
    stack = await startPrivacyStack();
    eu.push(await provision('eu'), await provision('eu'), await provision('eu'));
    us = await provision('us');
    expect((await stack.api('DELETE', `/api/v1/devices/${eu[2]}`, ADMIN)).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('lists the same devices in both, without the erased one', async () => {
    const all = [eu[0]!, eu[1]!, us].sort();
    expect(await listed('/api/v1/devices', ADMIN)).toEqual(all);
    expect(await listed('/api/v1/fleet', ADMIN)).toEqual(all);
    expect(await listed('/api/v1/devices', OPERATOR_EU)).toEqual([eu[0]!, eu[1]!].sort());
    expect(await listed('/api/v1/fleet', OPERATOR_EU)).toEqual([eu[0]!, eu[1]!].sort());
  });

  it('answers 404 for an erased device and 403 for another region, in both', async () => {
    for (const path of [`/api/v1/devices/${eu[2]}`, `/api/v1/devices/${eu[2]}/events`, `/api/v1/fleet/${eu[2]}`]) {
      expect(await stack.api('GET', path, ADMIN)).toMatchObject({ status: 404, json: { code: 'NOT_FOUND' } });
    }
    for (const path of [`/api/v1/devices/${us}`, `/api/v1/devices/${us}/events`, `/api/v1/fleet/${us}`]) {
      expect(await stack.api('GET', path, OPERATOR_EU)).toMatchObject({ status: 403, json: { code: 'REGION_FORBIDDEN' } });
    }
  });

  it('audits every read of events once, saying which route read them', async () => {
    const before = (await reads(eu[0]!)).length;
    expect((await stack.api('GET', `/api/v1/devices/${eu[0]}/events`, OPERATOR_EU)).status).toBe(200);
    expect((await stack.api('GET', `/api/v1/fleet/${eu[0]}`, ADMIN)).status).toBe(200);
    const after = (await reads(eu[0]!)).slice(before);
    expect(after).toEqual([
      expect.objectContaining({ actor: 'op-eu', detail: { events: 0 } }),
      expect.objectContaining({ actor: 'admin', detail: expect.objectContaining({ events: 0, via: 'dashboard', bodies: true }) }),
    ]);
  });
});
