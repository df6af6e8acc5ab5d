import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The standalone server (`tsx server/main.ts`) as a child process, with debug logs on. */
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brewtel-server-cli-'));
});
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('tsx server/main.ts', () => {
  it('prints each generated token once on stdout and logs none of them, nor any configured token', async () => {
    const auditorToken = 'auditor-token-Secret0123456789';
    const env: NodeJS.ProcessEnv = { ...process.env, BREWTEL_TOKENS: `auditor:${auditorToken}` };
    delete env.BREWTEL_ADMIN_TOKEN;
    delete env.BREWTEL_BROKER_TOKEN;
    // No broker listens on port 1: ingest keeps retrying, which is logged, while HTTP serves.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'server/main.ts',
        '--http-port',
        '0',
        '--data-dir',
        dataDir,
        '--regions',
        'eu',
        '--log-level',
        'debug',
        '--mqtt-url',
        'mqtt://127.0.0.1:1',
        '--mqtt-password',
        'mqtt-password-Secret0123',
      ],
      { env },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': only then has all of stdout and stderr been read.
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start line; stdout: ${stdout}; stderr: ${stderr.slice(0, 2000)}`)), 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /brewtel server: (http:\/\/\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const adminToken = /generated BREWTEL_ADMIN_TOKEN=(\S+)/.exec(stdout)?.[1] ?? '';
    const brokerToken = /generated BREWTEL_BROKER_TOKEN=(\S+)/.exec(stdout)?.[1] ?? '';
    expect(adminToken.length).toBeGreaterThanOrEqual(32);
    expect(brokerToken.length).toBeGreaterThanOrEqual(32);
    // Requests with each token (a login, a refusal) so request-time logging has its chance to leak.
    expect((await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(200);
    expect((await fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${brokerToken}` } })).status).toBe(403);
    expect((await fetch(`${url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${auditorToken}` } })).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(occurrences(stdout, adminToken)).toBe(1);
    expect(occurrences(stdout, brokerToken)).toBe(1);
    for (const secret of [adminToken, brokerToken, auditorToken, 'mqtt-password-Secret0123']) expect(stderr).not.toContain(secret);
    expect(stdout).not.toContain(auditorToken);
    const dump = stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; config?: unknown })
      .find((line) => line.msg === 'server configuration');
    expect(dump?.config).toMatchObject({
      adminToken: '[redacted]',
      brokerToken: '[redacted]',
      mqtt: { password: '[redacted]' },
      tokens: [{ token: '[redacted]' }],
    });
  });
});
