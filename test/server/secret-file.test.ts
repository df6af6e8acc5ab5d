import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOrCreateSecretFile } from '../../server/owner-only-files.ts';

const run = promisify(execFile);
const moduleUrl = new URL('../../server/owner-only-files.ts', import.meta.url).href;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'brewtel-secret-'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('readOrCreateSecretFile', () => {
  it('creates the secret once, 0600, and reads the same one back', async () => {
    const file = join(root, 'one', 'a.key');
    const first = readOrCreateSecretFile(file, () => 'x'.repeat(40));
    const second = readOrCreateSecretFile(file, () => 'y'.repeat(40));
    expect(first).toBe('x'.repeat(40));
    expect(second).toBe(first);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(await readdir(join(root, 'one'))).toEqual(['a.key']);
  });

  it('processes starting together on one folder all end with one whole secret', async () => {
    const file = join(root, 'race', 'audit.key');
    const script = `
      import { randomBytes } from 'node:crypto';
      const { readOrCreateSecretFile } = await import(${JSON.stringify(moduleUrl)});
      const at = Number(process.argv[1]);
      while (Date.now() < at) {}
      process.stdout.write(readOrCreateSecretFile(${JSON.stringify(file)}, () => randomBytes(32).toString('base64url')));
    `;
    const startAt = Date.now() + 2_500;
    const children = Array.from({ length: 6 }, () =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, String(startAt)], { timeout: 30_000 }),
    );
    const secrets = (await Promise.all(children)).map((child) => child.stdout);
    expect(secrets[0]).toHaveLength(43);
    expect(new Set(secrets)).toEqual(new Set([secrets[0]]));
    expect((await readFile(file, 'utf8')).trim()).toBe(secrets[0]);
    expect(await readdir(join(root, 'race'))).toEqual(['audit.key']);
  });
});
