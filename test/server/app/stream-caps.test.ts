import { mkdtemp, rm } from 'node:fs/promises';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../../../schema/api.ts';
import { serverConfigSchema } from '../../../server/config.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { eventually } from './helpers.ts';

/** Live streams are capped per token and in total; a stream the client closes frees its slot. */
const ADMIN = 'admin-token-0123456789abcdef';
const AUDITOR = 'auditor-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';

let dataDir: string;
let server: RunningServer;
const opened: ClientRequest[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-stream-caps-'));
  server = await startServer(
    serverConfigSchema.parse({
      regions: ['eu'],
      dataDir,
      http: { port: 0, streams: { perToken: 2, total: 3 } },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      tokens: [
        { role: 'auditor', token: AUDITOR },
        { role: 'operator', region: 'eu', token: OPERATOR },
      ],
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  for (const req of opened) req.destroy();
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Opened {
  status: number;
  /** The open stream's request, to close it from the client side; the error body otherwise. */
  req: ClientRequest;
  body: string;
}

/** Opens a stream and resolves at its first bytes (the stream's comment line, or a whole error body). */
function openStream(token: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: server.httpPort, path: '/api/v1/stream', headers: { authorization: `Bearer ${token}` } },
      (res: IncomingMessage) => {
        res.setEncoding('utf8');
        if (res.statusCode === 200) {
          opened.push(req);
          res.once('data', (chunk: string) => resolve({ status: 200, req, body: chunk }));
          res.on('error', () => undefined);
          return;
        }
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, req, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function metrics(): Promise<string> {
  return (await fetch(`${server.httpUrl}/metrics`)).text();
}

function expectRefused(outcome: Opened, status: number, code: string): void {
  expect(outcome.status).toBe(status);
  expect(errorBodySchema.parse(JSON.parse(outcome.body))).toMatchObject({ statusCode: status, code });
}

describe('GET /api/v1/stream caps', () => {
  it('refuses a token past its cap with 429 and everyone past the total with 503; a closed stream frees its slot', async () => {
    const first = await openStream(ADMIN);
    expect(first.status).toBe(200);
    expect(first.body).toContain('brewtel live stream');
    expect((await openStream(ADMIN)).status).toBe(200);
    expectRefused(await openStream(ADMIN), 429, 'STREAM_LIMIT_REACHED');

    expect((await openStream(AUDITOR)).status).toBe(200);
    // The auditor holds one of its two, but the server holds its three.
    expectRefused(await openStream(AUDITOR), 503, 'STREAM_CAPACITY_REACHED');
    expectRefused(await openStream(OPERATOR), 503, 'STREAM_CAPACITY_REACHED');
    expect(await metrics()).toMatch(/brewtel_http_streams_open 3\b/);

    // The client goes away: its slot comes back, for any token.
    first.req.destroy();
    await eventually(async () => expect(await metrics()).toMatch(/brewtel_http_streams_open 2\b/));
    expect((await openStream(OPERATOR)).status).toBe(200);
    expectRefused(await openStream(ADMIN), 503, 'STREAM_CAPACITY_REACHED');

    const text = await metrics();
    expect(text).toMatch(/brewtel_http_streams_refused_total\{limit="token"\} 1\b/);
    expect(text).toMatch(/brewtel_http_streams_refused_total\{limit="total"\} 3\b/);
  });
});
