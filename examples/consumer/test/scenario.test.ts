import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';

const run = promisify(execFile);
let dir = '';
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('brewtel scenario run passes the smoke scenario and writes its reports', async () => {
  dir = await mkdtemp(join(tmpdir(), 'consumer-scenario-'));
  const junit = join(dir, 'smoke.xml');
  const json = join(dir, 'smoke.json');
  const { stdout } = await run('npx', ['brewtel', 'scenario', 'run', 'scenarios/smoke.yaml', '--junit', junit, '--json', json], { timeout: 90_000 });
  expect(stdout.trim().split('\n').at(-1)).toMatch(/^scenario="smoke" passed=true /);
  expect(await readFile(junit, 'utf8')).toContain('failures="0"');
  expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ format: 'brewtel.scenario-report.v1', passed: true });
}, 120_000);
