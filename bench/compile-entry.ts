import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleSources } from '../launcher/bundle-sources.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Compiles `entry` (relative to the repository) into one ES module under node_modules/.cache
 * (launcher/bundle-sources.mjs), dependencies left external: a benchmark then measures the process
 * as it would be deployed, without a TypeScript loader in it (tsx alone holds about 35 MB). The file
 * stays while this process lives (its children run it); a later bundle removes it.
 */
export async function compileBenchEntry(entry: string, name: string): Promise<string> {
  const bundle = await bundleSources(join(ROOT, entry), name);
  if (bundle === null) throw new Error('esbuild is not installed (a devDependency: run npm ci)');
  return bundle.file;
}
