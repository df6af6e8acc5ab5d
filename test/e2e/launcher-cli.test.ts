import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

interface Outcome { code: number; stdout: string; stderr: string }

/** Runs `npm start`'s entry as a user would (a child process), bounded in time. */
async function launch(args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', 'launcher/main.ts', ...args], { timeout: 60_000 });
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
    const result = await launch(['--duration', '4', '--machines', '6', '--speed', '5000', '--http-port', '0', '--mqtt-port', '0', '--ws-port', '0', '--data-dir', dataDir]);
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

  it('refuses a bad flag value with a message that names the flag', async () => {
    const result = await launch(['--machines', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--machines');
  });
});
