import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { errorBodySchema, provisionDeviceResponseSchema } from '../../schema/api.ts';
import { commandResultSchema, type CommandResult } from '../../schema/commands.ts';
import { topics } from '../../schema/topics.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { startTestBroker, waitFor, type TestBroker } from '../firmware-sim/aedes-server.ts';

const silent = pino({ level: 'silent' });
const ADMIN = 'admin-token-commands-0123456789';

/**
 * The whole command path with real parts: the server's API publishes on its MQTT connection, a real
 * aedes broker carries it, a simulated machine acts on it and answers on cmd-result/{name}, and the
 * server hands that answer back as the HTTP response. The broker is the permissive test broker: the
 * project broker's ACL decides separately whether devices may publish their results.
 */
describe('POST /api/v1/devices/:id/commands/:name through broker, machine and server', () => {
  let dataDir: string;
  let broker: TestBroker;
  let server: RunningServer;
  let fleet: Fleet;
  let deviceId: string;
  let silentDeviceId: string;

  const post = async (path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: unknown }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.httpUrl}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: await response.json() };
  };
  const command = async (name: string, body?: unknown, id = deviceId, query = ''): Promise<CommandResult> => {
    const { status, json } = await post(`/api/v1/devices/${id}/commands/${name}${query}`, body);
    expect(status, JSON.stringify(json)).toBe(200);
    return commandResultSchema.parse(json);
  };
  const provision = async (): Promise<{ id: string; secret: string }> => {
    const { status, json } = await post('/api/v1/devices', { region: 'eu', consent: { usage: true, location: 'coarse', payment: false, diagnostics: true } });
    expect(status).toBe(201);
    return provisionDeviceResponseSchema.parse(json);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-commands-'));
    broker = await startTestBroker();
    let serverListening = false;
    broker.broker.on('subscribe', (subscriptions) => {
      if (subscriptions.some((s) => s.topic === topics.filters.allCommandResults)) serverListening = true;
    });
    server = await startServer(
      serverConfigSchema.parse({
        regions: ['eu'],
        dataDir,
        http: { port: 0 },
        mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: `svc-commands-${process.pid}` },
        adminToken: ADMIN,
        brokerToken: 'broker-token-commands-0123456789',
        ingest: { drainTimeoutMs: 1_000 },
      }),
      silent,
    );
    await server.whenIngestReady();
    await waitFor(() => serverListening, 10_000, 'server subscribed to command results');

    const device = await provision();
    deviceId = device.id;
    silentDeviceId = (await provision()).id;
    // The machine starts without the retained record, so that apply-consent has something to bring.
    await broker.publish(topics.consent(deviceId), '', true);
    fleet = await startFleet(
      { brokerUrl: broker.url, machines: [{ deviceId, secret: device.secret, region: 'eu', usage: 'cafe' }], seed: 3, speed: 600 },
      silent,
    );
    await waitFor(() => broker.listening.has(deviceId), 10_000, 'machine subscribed to its commands');
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await server?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('apply-consent brings the ledger record; the same record again is answered as stale', async () => {
    const applied = await command('apply-consent');
    expect(applied).toMatchObject({ v: 1, name: 'apply-consent', status: 'ok' });
    expect(applied.code).toBeUndefined();
    const again = await command('apply-consent', {});
    expect(again).toMatchObject({ name: 'apply-consent', status: 'rejected', code: 'consent_stale' });
    expect(again.commandId).not.toBe(applied.commandId);
  });

  it('set-recipe, wipe-local-data and reboot are each answered by the machine', async () => {
    expect(await command('set-recipe', { recipe: 'espresso', doseG: 20, waterTempC: 94 })).toMatchObject({ name: 'set-recipe', status: 'ok' });
    expect(await command('wipe-local-data')).toMatchObject({ name: 'wipe-local-data', status: 'ok' });
    const connectsBefore = broker.connects.get(deviceId) ?? 0;
    expect(await command('reboot', {})).toMatchObject({ name: 'reboot', status: 'ok' });
    await waitFor(() => (broker.connects.get(deviceId) ?? 0) > connectsBefore && fleet.stats().connected === 1, 10_000, 'machine back after reboot');
    // Every answer came over the broker from the machine itself, once per command.
    const answered = broker.results.filter((r) => r.deviceId === deviceId).map((r) => r.name);
    expect(answered).toEqual(['apply-consent', 'apply-consent', 'set-recipe', 'wipe-local-data', 'reboot']);
    expect(fleet.stats().commandReplies).toBe(5);
  });

  it('refuses bad input with coded errors before anything is sent', async () => {
    const sentBefore = fleet.stats().commands;
    const cases: Array<[string, unknown, number, string]> = [
      [`/api/v1/devices/${deviceId}/commands/set-recipe`, { recipe: 'espresso', doseG: 99 }, 400, 'VALIDATION_FAILED'],
      [`/api/v1/devices/${deviceId}/commands/apply-consent`, { record: { version: 99 } }, 400, 'VALIDATION_FAILED'],
      [`/api/v1/devices/${deviceId}/commands/self-destruct`, {}, 400, 'VALIDATION_FAILED'],
      ['/api/v1/devices/cm-nobody-here/commands/reboot', {}, 404, 'NOT_FOUND'],
    ];
    for (const [path, body, status, code] of cases) {
      const answer = await post(path, body);
      expect(answer.status, path).toBe(status);
      expect(errorBodySchema.parse(answer.json).code).toBe(code);
    }
    const wrongRole = await post(`/api/v1/devices/${deviceId}/commands/reboot`, {}, 'broker-token-commands-0123456789');
    expect(wrongRole.status).toBe(403);
    expect(fleet.stats().commands).toBe(sentBefore);
  });

  it('answers 504 COMMAND_TIMEOUT when the device does not answer in time', async () => {
    const { status, json } = await post(`/api/v1/devices/${silentDeviceId}/commands/reboot?waitMs=300`, {});
    expect(status).toBe(504);
    expect(errorBodySchema.parse(json)).toMatchObject({ statusCode: 504, code: 'COMMAND_TIMEOUT' });
  });
});
