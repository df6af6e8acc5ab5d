import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Compiles `entry` (relative to the repository) into one ES module `name` in node_modules/.cache,
 * dependencies left external: a benchmark then measures the process as it would be deployed, without
 * a TypeScript loader in it (tsx alone holds about 35 MB).
 */
export async function compileBenchEntry(entry: string, name: string): Promise<string> {
  const outDir = join(ROOT, 'node_modules', '.cache', 'brewtel-bench');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, name);
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}
