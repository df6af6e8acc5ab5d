import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { provisionMachines } from '../../../firmware-sim/provision.ts';
import { errorBodySchema } from '../../../schema/api.ts';
import { serverConfigSchema, type ServerConfigInput } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { httpRequest, type RawResponse } from '../../support/raw-http.ts';

/** Request limits per client address and per token, against a real server over real sockets. */
const ADMIN = 'admin-token-0123456789abcdef';
const BROKER = 'broker-token-0123456789abcdef';
const AUDITOR = 'auditor-token-0123456789abcdef';
/** A public route that answers 200 (/health says 503 here: no broker is attached). */
const PUBLIC = '/openapi.json';

let dataDir: string;
let server: RunningServer;

async function start(rateLimit: NonNullable<NonNullable<ServerConfigInput['http']>['rateLimit']>): Promise<void> {
  server = await startServer(
    serverConfigSchema.parse({
      regions: ['eu', 'us'],
      dataDir,
      http: { port: 0, rateLimit },
      adminToken: ADMIN,
      brokerToken: BROKER,
      tokens: [{ role: 'auditor', token: AUDITOR }],
    }),
    pino({ level: 'silent' }),
  );
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-rate-limit-'));
});

afterEach(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const send = (path: string, localAddress: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<RawResponse> =>
  httpRequest({ port: server.httpPort, path, localAddress, headers, method, ...(body === undefined ? {} : { body }) });

function expectLimited(response: RawResponse, windowS: number): void {
  expect(response.status).toBe(429);
  const body = errorBodySchema.parse(JSON.parse(response.body));
  expect(Object.keys(body).sort()).toEqual(['code', 'message', 'statusCode']);
  expect(body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
  const retryAfter = Number(response.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowS);
}

async function metric(name: string, labels: string): Promise<number> {
  // From an address no test uses, so reading the counters is not itself limited.
  const text = (await send('/metrics', '127.0.0.250')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('HTTP request rate per address', () => {
  it('limits every request of one address, tokens or none, with 429 RATE_LIMITED and Retry-After; other addresses go on', async () => {
    await start({ windowMs: 60_000, perAddress: 10, perToken: 1_000 });
    const from = '127.0.0.2';
    for (let i = 0; i < 4; i += 1) expect((await send(PUBLIC, from)).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await send('/api/v1/devices', from)).status).toBe(401);
    for (let i = 0; i < 2; i += 1) expect((await send(`/nowhere-${i}`, from)).status).toBe(404);
    expect((await send('/api/v1/devices', from, bearer(ADMIN))).status).toBe(200);
    // The 11th request of the window, whatever it is.
    expectLimited(await send('/api/v1/devices', from, bearer(ADMIN)), 60);
    expectLimited(await send(PUBLIC, from), 60);
    expectLimited(await send('/nowhere', from), 60);
    expectLimited(await send('/api/v1/devices/%E0%A4%A', from), 60);

    expect((await send(PUBLIC, '127.0.0.3')).status).toBe(200);
    expect((await send('/api/v1/devices', '127.0.0.3', bearer(ADMIN))).status).toBe(200);
    expect(await metric('brewtel_http_rate_limited_total', 'limit="address"')).toBe(4);
  });

  it('lets the address in again once its window has passed', async () => {
    await start({ windowMs: 1_000, perAddress: 3, perToken: 1_000 });
    const from = '127.0.0.4';
    let last: RawResponse | undefined;
    // Cheap requests (404s), so four of them surely fall into one window.
    for (let i = 0; i < 4; i += 1) last = await send('/nowhere', from);
    expectLimited(last!, 1);
    await new Promise((resolve) => setTimeout(resolve, Number(last!.headers['retry-after']) * 1000 + 100));
    expect((await send('/nowhere', from)).status).toBe(404);
  });
});

describe('HTTP request rate per token', () => {
  it('limits one token across addresses and leaves other tokens and tokenless requests alone', async () => {
    await start({ windowMs: 60_000, perAddress: 1_000, perToken: 5 });
    for (let i = 0; i < 5; i += 1) expect((await send('/api/v1/devices', `127.0.0.${10 + i}`, bearer(ADMIN))).status).toBe(200);
    const limited = await send('/api/v1/devices', '127.0.0.20', bearer(ADMIN));
    expectLimited(limited, 60);
    expect(JSON.parse(limited.body).message).toContain('with this token');
    expect(limited.body).not.toContain(ADMIN);

    expect((await send('/api/v1/audit/verify', '127.0.0.20', bearer(AUDITOR))).status).toBe(200);
    expect((await send(PUBLIC, '127.0.0.20')).status).toBe(200);
    // An unknown token is not a token bucket of its own: it counts against its address only.
    for (let i = 0; i < 8; i += 1) expect((await send('/api/v1/devices', '127.0.0.21', bearer(`guess-${i}-0123456789abcdef`))).status).toBe(401);
    expect(await metric('brewtel_http_rate_limited_total', 'limit="token"')).toBe(1);
  });

  it('paces a provisioning run instead of failing it: the provisioning client waits out Retry-After', async () => {
    await start({ windowMs: 1_000, perAddress: 1_000, perToken: 4 });
    const machines = await provisionMachines({ apiUrl: server.httpUrl, token: ADMIN, count: 10, regions: ['eu', 'us'], seed: 3, batchSize: 1, concurrency: 4 });
    expect(machines).toHaveLength(10);
    expect(new Set(machines.map((m) => m.deviceId)).size).toBe(10);
    expect(await metric('brewtel_http_rate_limited_total', 'limit="token"')).toBeGreaterThan(0);
  });
});

describe('the broker device-auth route', () => {
  it("has its own bucket for the broker token, not counted against the broker's address", async () => {
    await start({ windowMs: 60_000, perAddress: 5, perToken: 5, deviceAuthPerWindow: 12 });
    const from = '127.0.0.30';
    const login = (i: number) =>
      send(
        '/api/v1/broker/device-auth',
        from,
        { ...bearer(BROKER), 'content-type': 'application/json' },
        'POST',
        JSON.stringify({ deviceId: `cm-unknown${String(i).padStart(6, '0')}`, secret: 'not-the-secret' }),
      );
    for (let i = 0; i < 12; i += 1) expect((await login(i)).status).toBe(401);
    // Twelve logins later the dashboard on the same host is still in.
    expect((await send('/api/v1/devices', from, bearer(ADMIN))).status).toBe(200);
    expectLimited(await login(12), 60);
    expect(await metric('brewtel_http_rate_limited_total', 'limit="device_auth"')).toBe(1);

    // Without the broker token the route is an ordinary request of its address.
    const stranger = '127.0.0.31';
    const guess = () =>
      send('/api/v1/broker/device-auth', stranger, { 'content-type': 'application/json' }, 'POST', '{"deviceId":"cm-aaaaaaaaaaaaaaaa","secret":"x"}');
    for (let i = 0; i < 5; i += 1) expect((await guess()).status).toBe(401);
    expectLimited(await guess(), 60);
  });
});
