import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { directoryConfigSchema, type DirectoryConfigInput } from '../../server/directory/config.ts';
import { startDirectory, type RunningDirectory } from '../../server/directory/directory.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer, type RunningServer } from '../../server/server.ts';

export const logger = pino({ level: 'silent' });
export const DIRECTORY_ADMIN = 'directory-admin-token-0123456789';
export const LOOKUP = 'directory-lookup-token-0123456789';
export const planeAdmin = (region: string): string => `plane-${region}-admin-token-0123456789`;
/** The token the directory holds for a plane: an operator of that plane's region, the least role that provisions. */
export const planeOperator = (region: string): string => `plane-${region}-operator-token-0123456789`;

/** One plane as the tests run it: a real server for one region, its SQLite stores in a folder of its own, HTTP on port 0. */
export async function startPlane(region: string, dataDir: string): Promise<RunningServer> {
  return startServer(
    serverConfigSchema.parse({
      regions: [region],
      dataDir,
      http: { port: 0 },
      adminToken: planeAdmin(region),
      brokerToken: `plane-${region}-broker-token-0123456789`,
      tokens: [{ token: planeOperator(region), role: 'operator', region }],
      logLevel: 'silent',
    }),
    logger,
  );
}

export const planeOf = (region: string, server: RunningServer) => ({
  region,
  mqttUrl: `mqtt://${region}.planes.test:1883`,
  apiUrl: server.httpUrl,
  token: planeOperator(region),
});

export function startTestDirectory(
  dataDir: string,
  planes: DirectoryConfigInput['planes'],
  extra: Partial<DirectoryConfigInput> = {},
): Promise<RunningDirectory> {
  return startDirectory(
    directoryConfigSchema.parse({
      planes,
      adminToken: DIRECTORY_ADMIN,
      lookupToken: LOOKUP,
      dataDir,
      http: { port: 0 },
      planeTimeoutMs: 3_000,
      logLevel: 'silent',
      ...extra,
    }),
    logger,
  );
}

export async function tempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `brewtel-${name}-`));
}

export const removeDir = (dir: string | undefined) => (dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve());

export interface Answer {
  status: number;
  json: unknown;
}

export async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}
