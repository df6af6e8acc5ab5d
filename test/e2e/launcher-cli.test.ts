import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm start`'s command as a user would (a child process, the sources compiled first), bounded in time. */
async function launch(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['launcher/run-sources.mjs', 'launcher/main.ts', ...args], {
      timeout: 60_000,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('npm start', () => {
  let dataDir = '';
  let blocker: Server;
  let blockedPort = 0;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-cli-'));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    blockedPort = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs for --duration seconds, prints where to look and a summary, exits 0', async () => {
    const result = await launch([
      '--duration',
      '4',
      '--machines',
      '6',
      '--speed',
      '5000',
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--ws-port',
      '0',
      '--data-dir',
      dataDir,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(result.stdout).toMatch(/HTTP API\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1/);
    expect(result.stdout).toMatch(/MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+\s+WebSocket ws:\/\/127\.0\.0\.1:\d+/);
    const last = result.stdout.trim().split('\n').at(-1) ?? '';
    const figures = Object.fromEntries(last.split(' ').map((pair) => pair.split('=') as [string, string]));
    expect(Number(figures.published)).toBeGreaterThan(0);
    expect(Number(figures.stored) + Number(figures.refused)).toBe(Number(figures.published));
  });

  it.each([
    ['--mqtt-port', ['--http-port', '0', '--ws-port', 'off']],
    ['--http-port', ['--mqtt-port', '0', '--ws-port', 'off']],
    ['--ws-port', ['--http-port', '0', '--mqtt-port', '0']],
  ])('names %s in one line when that port is taken', async (flag, others) => {
    const result = await launch([flag, String(blockedPort), ...others, '--machines', '0', '--duration', '1', '--data-dir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`error: port ${blockedPort} is already in use; choose another with ${flag} (0 picks a free port)`);
  });

  it('prints the generated admin token once, in the banner, and writes no token or secret to the logs', async () => {
    const operatorToken = 'operator-token-Secret0123456789';
    const auditorToken = 'auditor-token-Secret0123456789';
    const logDir = await mkdtemp(join(tmpdir(), 'brewtel-cli-logs-'));
    try {
      const result = await launch(
        [
          '--duration',
          '3',
          '--machines',
          '3',
          '--speed',
          '5000',
          '--http-port',
          '0',
          '--mqtt-port',
          '0',
          '--ws-port',
          'off',
          '--data-dir',
          logDir,
          '--log-level',
          'debug',
          '--token',
          `operator:eu:${operatorToken}`,
        ],
        { BREWTEL_TOKENS: `auditor:${auditorToken}`, BREWTEL_ADMIN_TOKEN: '' },
      );
      expect(result.code).toBe(0);
      const adminToken = /admin\s+token (\S+)\s+\(generated/.exec(result.stdout)?.[1] ?? '';
      expect(adminToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(occurrences(result.stdout, adminToken)).toBe(1);
      expect(result.stderr).not.toContain(adminToken);
      const secrets = (JSON.parse(await readFile(join(logDir, 'fleet-credentials.json'), 'utf8')) as { machines: { secret: string }[] }).machines.map(
        (m) => m.secret,
      );
      expect(secrets).toHaveLength(3);
      for (const secret of [operatorToken, auditorToken, ...secrets]) {
        expect(result.stdout).not.toContain(secret);
        expect(result.stderr).not.toContain(secret);
      }
      // Debug logs did run, and their configuration dumps went out with the secrets replaced.
      const lines = result.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; config?: Record<string, unknown> });
      const serverConfig = lines.find((line) => line.msg === 'server configuration')?.config;
      expect(serverConfig).toMatchObject({
        adminToken: '[redacted]',
        brokerToken: '[redacted]',
        tokens: [
          { role: 'operator', token: '[redacted]' },
          { role: 'auditor', token: '[redacted]' },
        ],
      });
      expect(lines.find((line) => line.msg === 'launcher configuration')?.config).toMatchObject({ tokens: [{ token: '[redacted]' }, { token: '[redacted]' }] });
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
  });

  it('refuses a bad flag value with a message that names the flag', async () => {
    const result = await launch(['--machines', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--machines');
  });
});
