import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfigSchema } from '../../../server/config.ts';
import { ERRORS } from '../../../server/http/errors.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { parseRawResponse, rawExchange } from '../../support/raw-http.ts';

/**
 * Errors fastify and Node's HTTP parser raise themselves, sent as raw bytes to a real server: each one
 * answers the documented shape with a code of our registry, and none repeats what the client sent.
 */
const ADMIN = 'admin-token-0123456789abcdef';
const MARKER = 'Zq7MarkerXk2';

let dataDir: string;
let server: RunningServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-framework-errors-'));
  server = await startServer(
    serverConfigSchema.parse({
      regions: ['eu'],
      dataDir,
      http: { port: 0 },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const auth = `Authorization: Bearer ${ADMIN}\r\n`;
const get = (target: string, headers = ''): string => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`;
const post = (target: string, contentType: string | null, body: string, headers = auth): string =>
  `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}${contentType === null ? '' : `Content-Type: ${contentType}\r\n`}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

const cases: { name: string; request: () => string; status: number; code: keyof typeof ERRORS }[] = [
  { name: 'an unknown route', request: () => get(`/${MARKER}?q=${MARKER}`), status: 404, code: 'NOT_FOUND' },
  { name: 'an unknown route under /api', request: () => get(`/api/v1/${MARKER}`, auth), status: 404, code: 'NOT_FOUND' },
  {
    name: 'a method no route has at that path',
    request: () => `DELETE /health?${MARKER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'a method HTTP does not define',
    request: () => `${MARKER} /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    status: 501,
    code: 'METHOD_NOT_IMPLEMENTED',
  },
  { name: 'malformed percent-encoding in the path', request: () => get(`/api/v1/devices/%E0%A4%A${MARKER}`, auth), status: 400, code: 'BAD_REQUEST' },
  { name: 'an over-long path parameter', request: () => get(`/api/v1/devices/${MARKER}${'a'.repeat(300)}`, auth), status: 414, code: 'URI_TOO_LONG' },
  { name: 'an over-long URL', request: () => get(`/${MARKER}${'u'.repeat(20_000)}`), status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a header overflow', request: () => get('/health', `X-Filler: ${MARKER}${'h'.repeat(20_000)}\r\n`), status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a malformed header line', request: () => `GET /health HTTP/1.1\r\nHost: x\r\n${MARKER} no colon here\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'bad JSON', request: () => post('/api/v1/devices', 'application/json', `{"region":"${MARKER}`), status: 400, code: 'BAD_REQUEST' },
  {
    name: 'JSON with a forbidden prototype key',
    request: () => post('/api/v1/devices', 'application/json', `{"__proto__":{"${MARKER}":1}}`),
    status: 400,
    code: 'BAD_REQUEST',
  },
  { name: 'an empty body with a JSON content type', request: () => post('/api/v1/devices', 'application/json', ''), status: 400, code: 'BAD_REQUEST' },
  { name: 'a content type no parser takes', request: () => post('/api/v1/devices', `text/${MARKER}`, MARKER), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  {
    name: 'a body over the limit',
    request: () => post('/api/v1/devices', 'application/json', `{"region":"${MARKER.repeat(7_000)}"}`),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'a Content-Length the body does not match',
    request: () =>
      `POST /api/v1/devices HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${MARKER}`,
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'a field outside the contract',
    request: () => post('/api/v1/devices', 'application/json', `{"region":"eu","${MARKER}":1}`),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
];

describe('errors raised by the framework go through the one error handler', () => {
  it.each(cases)('$name answers $status $code in the one shape, echoing nothing', async ({ request, status, code }) => {
    const raw = await rawExchange(server.httpPort, request());
    const response = parseRawResponse(raw);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'message', 'statusCode']);
    expect(body).toMatchObject({ statusCode: status, code });
    expect(ERRORS[code]).toBe(status);
    expect(typeof body.message).toBe('string');
    expect(raw).not.toContain(MARKER);
  });

  it('counts requests the HTTP parser refused', async () => {
    await rawExchange(server.httpPort, get('/health', `X-Filler: ${'h'.repeat(20_000)}\r\n`));
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/brewtel_http_client_errors_total\{status="431"\} [1-9]/);
  });
});
