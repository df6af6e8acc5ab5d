import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { sql } from './direct-db.ts';
import { OPERATOR_EU, AUDITOR, startPrivacyStack, type PrivacyStack } from './fixture.ts';

let stack: PrivacyStack;
let leaky: MqttClient;

beforeAll(async () => {
  stack = await startPrivacyStack();
  leaky = await mqtt.connectAsync(stack.brokerUrl, { clientId: 'privacy-leaky-device' });
}, 30_000);
afterAll(async () => {
  await leaky?.endAsync();
  await stack?.close();
});

describe('consent withdrawal against a device that ignores it', () => {
  it('stores nothing the server received after the withdrawal answered, and logs who changed what', async () => {
    const deviceId = ((await stack.api('POST', '/api/v1/devices', OPERATOR_EU, { region: 'eu', consent: ALL_CONSENT })).json as { id: string }).id;
    // Firmware that never reads its consent topic and keeps publishing valid brews every 5 ms.
    let seq = 0;
    let publishing = true;
    const published: Promise<unknown>[] = [];
    const loop = (async () => {
      while (publishing) {
        seq++;
        published.push(leaky.publishAsync(topics.event(deviceId, 'brew'), JSON.stringify(eventOf('brew', deviceId, new Date(), seq)), { qos: 1 }));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const stored = async (): Promise<{ id: string; receivedAt: number | string }[]> =>
      sql(stack.storeUrls.eu!, `SELECT "id", "receivedAt" FROM "Event" WHERE "deviceId" = '${deviceId}'`);
    await eventually(async () => expect((await stored()).length).toBeGreaterThanOrEqual(20));

    const withdrawal = await stack.api('PUT', `/api/v1/devices/${deviceId}/consent?channel=support`, OPERATOR_EU, { ...ALL_CONSENT, usage: false });
    const answeredAt = Date.now();
    expect(withdrawal).toMatchObject({ status: 200, json: { version: 2, categories: { usage: false } } });
    const refusedBefore = stack.server.stats().refusedByReason.not_consented ?? 0;
    await new Promise((r) => setTimeout(r, 1_000));
    publishing = false;
    await loop;
    await Promise.all(published);

    // Every message the device sent is accounted for: stored before the withdrawal, or refused.
    await eventually(async () => {
      const stats = stack.server.stats();
      expect((await stored()).length + (stats.refusedByReason.not_consented ?? 0)).toBe(seq);
    });
    expect((stack.server.stats().refusedByReason.not_consented ?? 0) - refusedBefore).toBeGreaterThan(50);
    const rows = await stored();
    const latest = Math.max(...rows.map((r) => new Date(typeof r.receivedAt === 'number' ? r.receivedAt : String(r.receivedAt)).getTime()));
    expect(latest).toBeLessThanOrEqual(answeredAt);

    const audit = (await stack.api('GET', '/api/v1/audit?region=eu', AUDITOR)).json as {
      entries: { action: string; actor: string; target: string; detail: Record<string, unknown> }[];
    };
    expect(audit.entries.filter((e) => e.action === 'consent.change' && e.target === deviceId)).toEqual([
      expect.objectContaining({ actor: 'op-eu', detail: expect.objectContaining({ version: 1, channel: 'provisioning', usage: true }) }),
      expect.objectContaining({ actor: 'op-eu', detail: expect.objectContaining({ version: 2, channel: 'support', usage: false }) }),
    ]);
  }, 30_000);
});
