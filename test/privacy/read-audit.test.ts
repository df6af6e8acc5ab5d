import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { ADMIN, AUDITOR, OPERATOR_US, startPrivacyStack, type PrivacyStack } from './fixture.ts';

/** The bulk reads of personal data leave an audit entry each, in the log of every region they read. */
describe('bulk reads are audited', () => {
  let stack: PrivacyStack;
  let device: MqttClient;
  const euDevices: string[] = [];

  const provision = async (region: string): Promise<string> =>
    ((await stack.api('POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT })).json as { id: string }).id;

  async function entries(region: string, action: string): Promise<AuditEntry[]> {
    const log = (await stack.api('GET', `/api/v1/audit?region=${region}&limit=1000`, AUDITOR)).json as { entries: AuditEntry[] };
    return log.entries.filter((e) => e.action === action);
  }

  beforeAll(async () => {
    stack = await startPrivacyStack('sqlite', { ingest: { quarantinePayloads: true, lingerMs: 0, drainTimeoutMs: 1_000 } });
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `read-audit-${Date.now()}` });
    euDevices.push(await provision('eu'), await provision('eu'));
    // A device of another region: none of its reads may show up in eu's audit.
    await provision('us');
    await device.publishAsync(topics.event(euDevices[0]!, 'location'), JSON.stringify(eventOf('location', euDevices[0]!)), { qos: 1 });
    await device.publishAsync(topics.event(euDevices[0]!, 'brew'), 'not json at all', { qos: 1 });
    await eventually(async () => {
      const page = (await stack.api('GET', '/api/v1/regions/eu/quarantine', ADMIN)).json as { entries: unknown[] };
      expect(page.entries).toHaveLength(1);
    });
  }, 60_000);

  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  it('the fleet list and map: one entry per region read, with its device count', async () => {
    expect((await stack.api('GET', '/api/v1/fleet', ADMIN)).status).toBe(200);
    expect((await entries('eu', 'fleet.read')).at(-1)).toMatchObject({ actor: 'admin', target: 'eu', detail: { devices: 2, bodies: true } });
    expect((await entries('us', 'fleet.read')).at(-1)).toMatchObject({ actor: 'admin', target: 'us', detail: { devices: 1, bodies: true } });
    // A regional operator reads (and is logged in) its own region only.
    const before = (await entries('eu', 'fleet.read')).length;
    expect((await stack.api('GET', '/api/v1/fleet', OPERATOR_US)).status).toBe(200);
    expect((await entries('us', 'fleet.read')).at(-1)).toMatchObject({ actor: 'op-us', detail: { devices: 1 } });
    expect(await entries('eu', 'fleet.read')).toHaveLength(before);
  });

  it("one device's dashboard page, with bodies or (an auditor) without", async () => {
    expect((await stack.api('GET', `/api/v1/fleet/${euDevices[0]}`, ADMIN)).status).toBe(200);
    expect((await entries('eu', 'device.read_events')).at(-1)).toMatchObject({
      actor: 'admin',
      target: euDevices[0],
      detail: { events: 1, via: 'dashboard', bodies: true },
    });
    // Without bodies the page still shows when the machine was used.
    expect((await stack.api('GET', `/api/v1/fleet/${euDevices[0]}`, AUDITOR)).status).toBe(200);
    expect((await entries('eu', 'device.read_events')).at(-1)).toMatchObject({ actor: 'auditor', target: euDevices[0], detail: { events: 1, bodies: false } });
  });

  it('the quarantine, with how many payloads were read', async () => {
    expect((await stack.api('GET', '/api/v1/regions/eu/quarantine', ADMIN)).status).toBe(200);
    expect((await entries('eu', 'quarantine.read')).at(-1)).toMatchObject({ actor: 'admin', target: 'eu', detail: { entries: 1, payloads: 1 } });
  });

  it('the live stream: an entry when it opens and one when it closes, with what it sent', async () => {
    const abort = new AbortController();
    const response = await fetch(`${stack.server.httpUrl}/api/v1/stream?region=eu`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: abort.signal });
    expect(response.status).toBe(200);
    expect((await entries('eu', 'stream.open')).at(-1)).toMatchObject({ actor: 'admin', target: 'eu', detail: { bodies: true, kind: null, device: null } });
    expect(await entries('us', 'stream.open')).toHaveLength(0);

    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const stored = (): number => text.split('event: stored').length - 1;
    for (let i = 1; i <= 2; i++)
      await device.publishAsync(topics.event(euDevices[1]!, 'brew'), JSON.stringify(eventOf('brew', euDevices[1]!, new Date(), i)), { qos: 1 });
    await device.publishAsync(topics.event(euDevices[1]!, 'brew'), '{"broken": ', { qos: 1 });
    while (stored() < 2 || !text.includes('event: refused')) text += decoder.decode((await reader.read()).value, { stream: true });
    abort.abort();
    await eventually(async () => {
      expect((await entries('eu', 'stream.close')).at(-1)).toMatchObject({ actor: 'admin', target: 'eu', detail: { events: 2, refusals: 1, skipped: 0 } });
    });
  });
});
