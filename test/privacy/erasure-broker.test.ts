import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_TOPICS, credentialsRevokedSchema } from '../../schema/control.ts';
import type { Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventually } from '../server/app/helpers.ts';
import { ADMIN, startPrivacyStack, type PrivacyStack } from './fixture.ts';

/**
 * What an erasure tells the broker, watched from the broker's side (a plain aedes that lets this
 * test see every topic): a credential revocation notice per device before the erasure answers,
 * and every retained message of the device cleared.
 */
describe('erasure at the broker', () => {
  let stack: PrivacyStack;
  let watcher: MqttClient;
  const notices: string[] = [];

  beforeAll(async () => {
    stack = await startPrivacyStack('sqlite');
    watcher = await mqtt.connectAsync(stack.brokerUrl, { clientId: `erasure-watcher-${Math.random().toString(36).slice(2)}` });
    watcher.on('message', (topic, payload) => {
      if (topic === CONTROL_TOPICS.credentialsRevoked) notices.push(credentialsRevokedSchema.parse(JSON.parse(payload.toString())).deviceId);
    });
    await watcher.subscribeAsync(CONTROL_TOPICS.credentialsRevoked, { qos: 1 });
  });
  afterAll(async () => {
    await watcher?.endAsync();
    await stack?.close();
  });

  const provision = async (): Promise<string> =>
    ((await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT })).json as { id: string }).id;

  /** Retained messages on these topics, as a new subscriber gets them. */
  async function retained(topicList: readonly string[]): Promise<Record<string, string>> {
    const reader = await mqtt.connectAsync(stack.brokerUrl, { clientId: `retained-reader-${Math.random().toString(36).slice(2)}` });
    const got: Record<string, string> = {};
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) got[topic] = payload.toString();
    });
    await reader.subscribeAsync([...topicList], { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reader.endAsync();
    return got;
  }

  it('sends the revocation notice before a device deletion answers, and clears its retained state and consent', async () => {
    const deviceId = await provision();
    const device = await mqtt.connectAsync(stack.brokerUrl, { clientId: deviceId });
    await device.publishAsync(topics.state(deviceId), 'online', { qos: 1, retain: true });
    await device.endAsync();
    await eventually(async () =>
      expect(await retained([topics.state(deviceId), topics.consent(deviceId)])).toMatchObject({ [topics.state(deviceId)]: 'online' }),
    );

    expect((await stack.api('DELETE', `/api/v1/devices/${deviceId}`, ADMIN)).status).toBe(200);
    // The notice was acknowledged by the broker before the answer, so the watcher has it (or will
    // within a delivery): nothing waits for a cache to expire.
    await eventually(() => expect(notices).toContain(deviceId), 2_000);
    await eventually(async () => expect(await retained([topics.state(deviceId), topics.consent(deviceId)])).toEqual({}));
  });

  it('sends one notice per device of an erased owner', async () => {
    const owner = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: 'Erin Example', contact: 'erin@example.test' })).json as Owner;
    const devices = [await provision(), await provision()];
    for (const deviceId of devices) expect((await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId })).status).toBe(200);
    expect((await stack.api('DELETE', `/api/v1/owners/${owner.id}`, ADMIN)).status).toBe(200);
    await eventually(() => expect(notices.filter((id) => devices.includes(id)).sort()).toEqual([...devices].sort()), 2_000);
    // The server counts them.
    const metrics = await (await fetch(`${stack.server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    expect(metrics).toMatch(/^brewtel_credential_revocation_notices_total\{outcome="acknowledged"\} 3$/m);
  });
});
