import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';
import { provisionDeviceResponseSchema } from '../../schema/api.ts';
import { commandResultSchema, type CommandResult } from '../../schema/commands.ts';
import { waitFor } from '../firmware-sim/aedes-server.ts';

const silent = pino({ level: 'silent' });

/**
 * Commands through the project's own broker, with device authentication and the topic ACL on: the
 * server may publish cmd/{name} and read cmd-result/+, the machine may answer only on its own
 * cmd-result/{name}.
 */
describe('commands on the embedded stack (our broker, auth and ACL on)', () => {
  let dataDir: string;
  let stack: Stack;
  let fleet: Fleet;
  let deviceId: string;

  const command = async (name: string, body: unknown = {}): Promise<CommandResult> => {
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices/${deviceId}/commands/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json: unknown = await response.json();
    expect(response.status, JSON.stringify(json)).toBe(200);
    return commandResultSchema.parse(json);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-commands-stack-'));
    stack = await startStack(
      launcherConfigSchema.parse({ machines: 0, leaky: 0, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, logLevel: 'silent' }),
      silent,
    );
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ region: 'eu', consent: { usage: true, location: 'coarse', payment: true, diagnostics: true } }),
    });
    const device = provisionDeviceResponseSchema.parse(await response.json());
    deviceId = device.id;
    fleet = await startFleet(
      { brokerUrl: stack.mqttUrl, machines: [{ deviceId, secret: device.secret, region: 'eu', usage: 'cafe' }], seed: 8, speed: 600 },
      silent,
    );
    // A first acknowledged event means the machine holds its consent record and is subscribed.
    await fleet.whenPublished(1, 20_000);
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('every command is answered by the machine itself', async () => {
    expect(await command('apply-consent')).toMatchObject({ name: 'apply-consent', status: 'rejected', code: 'consent_stale' });
    expect(await command('set-recipe', { recipe: 'latte', milkMl: 220 })).toMatchObject({ name: 'set-recipe', status: 'ok' });
    expect(await command('wipe-local-data')).toMatchObject({ name: 'wipe-local-data', status: 'ok' });
    expect(await command('reboot')).toMatchObject({ name: 'reboot', status: 'ok' });
    await waitFor(() => fleet.stats().connected === 1, 10_000, 'machine back after reboot');
    expect(fleet.stats().commandReplies).toBe(4);
    expect(fleet.stats().failed).toBe(0);
  });
});
