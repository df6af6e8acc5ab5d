import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTokenSpec, serverConfigSchema } from '../../server/config.ts';
import { ADMIN, AUDITOR, OPERATOR_EU, OPERATOR_US, startPrivacyStack, type PrivacyStack } from './fixture.ts';

let stack: PrivacyStack;
let euDevice: string;

beforeAll(async () => {
  stack = await startPrivacyStack();
  const created = await stack.api('POST', '/api/v1/devices', OPERATOR_EU, { region: 'eu' });
  expect(created.status).toBe(201);
  euDevice = (created.json as { id: string }).id;
});
afterAll(async () => stack?.close());

describe('roles', () => {
  it('answers 401 without a token and with an unknown one', async () => {
    expect((await stack.api('GET', '/api/v1/devices', 'not-a-known-token-at-all')).status).toBe(401);
    const response = await fetch(`${stack.server.httpUrl}/api/v1/devices`);
    expect(response.status).toBe(401);
  });

  it('lets an operator act on its own region and refuses another region with REGION_FORBIDDEN', async () => {
    expect((await stack.api('GET', `/api/v1/devices/${euDevice}/events`, OPERATOR_EU)).status).toBe(200);
    const foreign = await stack.api('GET', `/api/v1/devices/${euDevice}/events`, OPERATOR_US);
    expect(foreign).toMatchObject({ status: 403, json: { statusCode: 403, code: 'REGION_FORBIDDEN' } });
    const consent = await stack.api('PUT', `/api/v1/devices/${euDevice}/consent`, OPERATOR_US, {
      usage: true,
      location: 'none',
      payment: false,
      diagnostics: false,
    });
    expect(consent.json).toMatchObject({ code: 'REGION_FORBIDDEN' });
    expect((await stack.api('POST', '/api/v1/devices', OPERATOR_US, { region: 'eu' })).json).toMatchObject({ code: 'REGION_FORBIDDEN' });
  });

  it("lists only the operator's own region", async () => {
    await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'us' });
    const eu = (await stack.api('GET', '/api/v1/devices', OPERATOR_EU)).json as { devices: { region: string }[] };
    expect(eu.devices.length).toBeGreaterThan(0);
    expect(eu.devices.every((d) => d.region === 'eu')).toBe(true);
    const all = (await stack.api('GET', '/api/v1/devices', ADMIN)).json as { devices: { region: string }[] };
    expect(new Set(all.devices.map((d) => d.region))).toEqual(new Set(['eu', 'us']));
  });

  it('gives an auditor no device data (403 FORBIDDEN)', async () => {
    expect(await stack.api('GET', `/api/v1/devices/${euDevice}/events`, AUDITOR)).toMatchObject({ status: 403, json: { code: 'FORBIDDEN' } });
  });
});

describe('token configuration', () => {
  it('parses ROLE:TOKEN and operator:REGION:TOKEN and refuses an operator without a region', () => {
    expect(parseTokenSpec('auditor:aaaaaaaaaaaaaaaaaaaa')).toEqual({ role: 'auditor', token: 'aaaaaaaaaaaaaaaaaaaa' });
    expect(parseTokenSpec('operator:eu:bbbbbbbbbbbbbbbbbbbb')).toEqual({ role: 'operator', region: 'eu', token: 'bbbbbbbbbbbbbbbbbbbb' });
    expect(() => parseTokenSpec('operator:cccccccccccccccccccc')).toThrow(/region/);
    expect(() => parseTokenSpec('root:cccccccccccccccccccc')).toThrow();
  });

  it('refuses an operator token for a region that is not configured', () => {
    const parsed = serverConfigSchema.safeParse({
      regions: ['eu'],
      adminToken: ADMIN,
      brokerToken: ADMIN,
      tokens: [{ token: OPERATOR_US, role: 'operator', region: 'us' }],
    });
    expect(parsed.success).toBe(false);
  });
});
