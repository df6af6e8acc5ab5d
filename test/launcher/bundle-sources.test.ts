import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSources, type SourceBundle } from '../../launcher/bundle-sources.mjs';

const CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.cache', 'brewtel');

/** esbuild is a devDependency, so the repository's tests always have it. */
async function bundle(entry: string): Promise<SourceBundle> {
  const made = await bundleSources(entry, 'bundle-test');
  if (made === null) throw new Error('esbuild is not installed');
  return made;
}

/** `npm start` runs a bundle of the sources (launcher/run-sources.mjs); each module must still see itself where it lies. */
describe('bundleSources', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-bundle-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'entry.ts'), "export { where } from './sub/where.ts';\nexport const entryUrl: string = import.meta.url;\n");
    writeFileSync(
      join(dir, 'sub', 'where.ts'),
      'export const where = { url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename } as const;\n',
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gives every bundled module its own source file's import.meta, and removes the bundle when asked", async () => {
    const made = await bundle(join(dir, 'entry.ts'));
    const loaded = (await import(pathToFileURL(made.file).href)) as { entryUrl: string; where: { url: string; dirname: string; filename: string } };
    expect(loaded.entryUrl).toBe(pathToFileURL(join(dir, 'entry.ts')).href);
    expect(loaded.where).toEqual({ url: pathToFileURL(join(dir, 'sub', 'where.ts')).href, dirname: join(dir, 'sub'), filename: join(dir, 'sub', 'where.ts') });
    expect(dirname(made.file)).toBe(CACHE);
    made.remove();
    expect(existsSync(made.file)).toBe(false);
  });

  it("removes the bundles of processes that are gone, not this process's own", async () => {
    mkdirSync(CACHE, { recursive: true });
    // PIDs stop at 2^22 on Linux: this one belongs to no process.
    const orphan = join(CACHE, `bundle-test-${2 ** 22 + 1}-1.mjs`);
    writeFileSync(orphan, 'export {};\n');
    const first = await bundle(join(dir, 'entry.ts'));
    const second = await bundle(join(dir, 'entry.ts'));
    try {
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(first.file)).toBe(true);
      expect(second.file).not.toBe(first.file);
    } finally {
      first.remove();
      second.remove();
    }
  });
});
