import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { openStores } from '../../server/store/open-stores.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** Registers devices straight in the directory and their home stores, consenting to brews since an hour ago. */
export async function provisionDirect(
  dataDir: string,
  regions: readonly string[],
  perRegion: number,
  urls: { stores?: Record<string, string>; directoryUrl?: string } = {},
): Promise<Map<string, string>> {
  const stores = await openStores(
    { regions: [...regions], dataDir, stores: urls.stores ?? {}, ...(urls.directoryUrl ? { directoryUrl: urls.directoryUrl } : {}) },
    pino({ level: 'silent' }),
  );
  const issuedAt = new Date(Date.now() - 3_600_000);
  const devices = new Map<string, string>();
  try {
    for (const region of regions) {
      for (let i = 0; i < perRegion; i++) {
        const deviceId = `cm-t${region}${randomBytes(6).toString('hex')}`;
        await stores.directory.register({ deviceId, region, secretHash: 'test-no-secret', createdAt: issuedAt });
        await stores.regions.get(region)!.addDevice(deviceId, issuedAt);
        await stores.regions.get(region)!.appendConsent({
          deviceId,
          version: 1,
          issuedAt,
          actor: 'test',
          channel: 'provisioning',
          categories: { usage: true, location: 'none', payment: false, diagnostics: false },
        });
        devices.set(deviceId, region);
      }
    }
  } finally {
    await stores.close();
  }
  return devices;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly httpUrl: string;
  /** Everything the process wrote to stderr so far (logs). */
  stderr(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** `server/main.ts` as its own process; resolves once its ingest is subscribed. */
export async function spawnServer(args: readonly string[], timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--http-port', '0', '--log-level', 'warn', ...args], {
    cwd: REPO,
    env: { ...process.env, BREWTEL_ADMIN_TOKEN: ADMIN_TOKEN, BREWTEL_BROKER_TOKEN: 'broker-token-0123456789abcdef' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not get ready in ${timeoutMs} ms: ${stderr.slice(-2000)}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /brewtel server: (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url && stdout.includes('ingest subscribed')) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready: ${stderr.slice(-2000)}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { child, httpUrl, stderr: () => stderr, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

export async function storedTotal(httpUrl: string): Promise<number> {
  const response = await fetch(`${httpUrl}/api/v1/regions`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const body = (await response.json()) as { regions: { stored: number }[] };
  return body.regions.reduce((sum, r) => sum + r.stored, 0);
}

/** A counter's value from the Prometheus text of GET /metrics (0 when absent). */
export async function metricValue(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
