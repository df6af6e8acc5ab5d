import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { serverConfigSchema, type ServerConfigInput } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { startAedes } from '../server/app/aedes-broker.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';

export const ADMIN = 'admin-token-0123456789abcdef';
export const OPERATOR_EU = 'operator-eu-token-0123456789';
export const OPERATOR_US = 'operator-us-token-0123456789';
export const AUDITOR = 'auditor-token-0123456789abcd';

export type StoreFlavour = 'sqlite' | 'postgres';

/** A whole server (real HTTP, real aedes, real stores) with one token of every role. */
export interface PrivacyStack {
  server: RunningServer;
  brokerUrl: string;
  dataDir: string;
  /** Store URL per region and the directory, for tests that read the databases directly. */
  storeUrls: Record<string, string>;
  api(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  close(): Promise<void>;
}

export async function postgresAvailable(): Promise<boolean> {
  const available = await postgresReachable();
  if (!available && process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432 and CI=true requires it');
  return available;
}

export async function startPrivacyStack(flavour: StoreFlavour = 'sqlite', overrides: Partial<ServerConfigInput> = {}): Promise<PrivacyStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'brewtel-privacy-'));
  const broker = await startAedes();
  const pgDbs = flavour === 'postgres' ? await createTempDatabases(['dir', 'eu', 'us']) : null;
  const storeUrls = pgDbs
    ? { eu: pgDbs.urls.eu!, us: pgDbs.urls.us!, directory: pgDbs.urls.dir! }
    : { eu: `file:${join(dataDir, 'eu.db')}`, us: `file:${join(dataDir, 'us.db')}`, directory: `file:${join(dataDir, 'directory.db')}` };
  const server = await startServer(
    serverConfigSchema.parse({
      regions: ['eu', 'us'],
      dataDir,
      ...(pgDbs ? { stores: { eu: storeUrls.eu, us: storeUrls.us }, directoryUrl: storeUrls.directory } : {}),
      http: { port: 0 },
      mqtt: { url: broker.url, username: 'svc-ingest', password: 'unused-by-plain-aedes', clientId: `privacy-${Math.random().toString(36).slice(2)}` },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      tokens: [
        { token: OPERATOR_EU, role: 'operator', region: 'eu', subject: 'op-eu' },
        { token: OPERATOR_US, role: 'operator', region: 'us', subject: 'op-us' },
        { token: AUDITOR, role: 'auditor', subject: 'auditor' },
      ],
      ingest: { drainTimeoutMs: 1_000, lingerMs: 0 },
      logLevel: 'silent',
      ...overrides,
    }),
    pino({ level: 'silent' }),
  );
  await server.whenIngestReady();
  return {
    server,
    brokerUrl: broker.url,
    dataDir,
    storeUrls,
    async api(method, path, token, body) {
      const response = await fetch(`${server.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : null };
    },
    async close() {
      await server.close();
      await broker.close();
      await pgDbs?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
