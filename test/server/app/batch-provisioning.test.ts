import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionMachines } from '../../../firmware-sim/provision.ts';
import { consentRecordSchema } from '../../../schema/consent.ts';
import { PROVISION_BATCH_MAX, provisionBatchResponseSchema } from '../../../schema/api.ts';
import { auditListResponseSchema } from '../../../schema/privacy.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { callApi, expectApiError } from './helpers.ts';

const logger = pino({ level: 'silent' });
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';
const OPERATOR_EU = 'operator-eu-token-0123456789';
const AUDITOR = 'auditor-token-0123456789abcd';

/** `POST /api/v1/devices:batch` on a real server (HTTP on port 0, SQLite stores), and the simulator's provisioning on it. */
describe('batch provisioning', () => {
  let dataDir: string;
  let server: RunningServer;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-batch-'));
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
  const batch = (devices: unknown[], token = ADMIN) => call('POST', '/api/v1/devices:batch', token, { devices });
  const deviceCount = async (): Promise<number> => ((await call('GET', '/api/v1/devices', ADMIN)).json.devices as unknown[]).length;

  it('provisions a full batch across regions, in request order, each with its secret and first consent record', async () => {
    const before = await deviceCount();
    const requests = Array.from({ length: PROVISION_BATCH_MAX }, (_, i) => ({
      region: i % 3 === 0 ? 'us' : 'eu',
      ...(i % 2 === 0 ? { consent: { usage: true, location: 'coarse', payment: false, diagnostics: true } } : {}),
    }));
    const answer = await batch(requests);
    expect(answer.status).toBe(201);
    const { devices } = provisionBatchResponseSchema.parse(answer.json);
    expect(devices).toHaveLength(PROVISION_BATCH_MAX);
    expect(new Set(devices.map((d) => d.id)).size).toBe(PROVISION_BATCH_MAX);
    expect(new Set(devices.map((d) => d.secret)).size).toBe(PROVISION_BATCH_MAX);
    devices.forEach((device, i) => {
      expect(device.region).toBe(requests[i]!.region);
      expect(device.consent).toMatchObject({ deviceId: device.id, version: 1, categories: { usage: i % 2 === 0, location: i % 2 === 0 ? 'coarse' : 'none' } });
    });
    expect(await deviceCount()).toBe(before + PROVISION_BATCH_MAX);

    // The devices are real: the detail view reads the consent from the home region, the broker's check accepts the secret.
    for (const i of [0, 1, 2, 999]) {
      const device = devices[i]!;
      const detail = await call('GET', `/api/v1/devices/${device.id}`, ADMIN);
      expect(detail.status).toBe(200);
      expect(consentRecordSchema.parse(detail.json.consent)).toEqual(device.consent);
      expect(await call('POST', '/api/v1/broker/device-auth', BROKER, { deviceId: device.id, secret: device.secret })).toEqual({
        status: 200,
        json: { deviceId: device.id, region: device.region },
      });
    }

    // Each first consent record is audited as a single change is (written for the batch at once),
    // and the chains still verify.
    for (const i of [0, 1, 999]) {
      const device = devices[i]!;
      const audit = await call('GET', `/api/v1/audit?region=${device.region}&target=${device.id}&limit=10`, AUDITOR);
      expect(auditListResponseSchema.parse(audit.json).entries.map((e) => [e.action, e.actor, e.detail.version])).toEqual([['consent.change', 'admin', 1]]);
    }
    const verify = await call('GET', '/api/v1/audit/verify', AUDITOR);
    expect((verify.json.chains as { status: string }[]).every((c) => c.status === 'ok')).toBe(true);
  });

  it('refuses a batch over the limit with 400 BATCH_TOO_LARGE and provisions none of it', async () => {
    const before = await deviceCount();
    expectApiError(await batch(Array.from({ length: PROVISION_BATCH_MAX + 1 }, () => ({ region: 'eu' }))), 400, 'BATCH_TOO_LARGE');
    expect(await deviceCount()).toBe(before);
  });

  it('answers bad entries in the one error shape, and provisions nothing of a batch it refuses', async () => {
    const before = await deviceCount();
    expectApiError(await batch([]), 400, 'VALIDATION_FAILED');
    expectApiError(await batch([{ region: 'eu' }, { region: 'eu', owner: 'Ada' }]), 400, 'VALIDATION_FAILED');
    expectApiError(await batch([{ region: 'eu' }, { region: 'mars' }]), 400, 'UNKNOWN_REGION');
    // An operator of one region provisions there only, and a mixed batch is refused whole.
    expectApiError(await batch([{ region: 'eu' }, { region: 'us' }], OPERATOR_EU), 403, 'REGION_FORBIDDEN');
    expect(await deviceCount()).toBe(before);
    const own = await batch([{ region: 'eu' }, { region: 'eu' }], OPERATOR_EU);
    expect(own.status).toBe(201);
    expect(await deviceCount()).toBe(before + 2);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.httpUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(doc.paths['/api/v1/devices:batch']?.post).toBeDefined();
  });

  it("is what the simulator's provisioning uses: 2,500 machines in three calls, in fleet order", async () => {
    const before = await deviceCount();
    const batchCalls = async (): Promise<number> => {
      const metrics = await (await fetch(`${server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
      // The route template keeps fastify's escaped colon.
      return Number(/^brewtel_http_requests_total\{method="POST",route="\/api\/v1\/devices::batch",status="201"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    };
    const callsBefore = await batchCalls();
    const progress: number[] = [];
    const machines = await provisionMachines({ apiUrl: server.httpUrl, token: ADMIN, count: 2_500, regions: ['eu', 'us'], seed: 7, leaky: 5 }, (n) =>
      progress.push(n),
    );
    expect(machines).toHaveLength(2_500);
    expect(new Set(machines.map((m) => m.deviceId)).size).toBe(2_500);
    machines.forEach((m, i) => {
      expect(m.region).toBe(i % 2 === 0 ? 'eu' : 'us');
    });
    expect(machines.filter((m) => m.profile === 'leaky')).toHaveLength(5);
    expect(progress).toHaveLength(3);
    expect(progress.at(-1)).toBe(2_500);
    expect(await deviceCount()).toBe(before + 2_500);
    expect(await batchCalls()).toBe(callsBefore + 3);
    const last = machines.at(-1)!;
    expect((await call('POST', '/api/v1/broker/device-auth', BROKER, { deviceId: last.deviceId, secret: last.secret })).status).toBe(200);
  });

  it("lets an operator read its own region's counts in GET /api/v1/regions (what the global directory's planes view needs), and no other's", async () => {
    const answer = await call('GET', '/api/v1/regions', OPERATOR_EU);
    expect(answer.status).toBe(200);
    expect((answer.json.regions as { region: string }[]).map((r) => r.region)).toEqual(['eu']);
    expect(((await call('GET', '/api/v1/regions', ADMIN)).json.regions as { region: string }[]).map((r) => r.region)).toEqual(['eu', 'us']);
  });
});
