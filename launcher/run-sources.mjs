/**
 * `node launcher/run-sources.mjs ENTRY.ts [ARGS…]`: runs a TypeScript entry point of the repository
 * as `tsx ENTRY.ts ARGS…` would, compiled first (launcher/bundle-sources.mjs) instead of through a
 * loader, so the process holds no TypeScript tooling while it runs. `npm start` and `npm run sim`
 * use it: at 10,000 machines every megabyte of the launcher counts. The entry sees the same
 * `process.argv` as under tsx. Without esbuild (a devDependency) it falls back to tsx.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleSources } from './bundle-sources.mjs';

const [given, ...args] = process.argv.slice(2);
if (given === undefined) {
  process.stderr.write('usage: node launcher/run-sources.mjs ENTRY.ts [ARGS…]\n');
  process.exit(2);
}
const entry = resolve(given);
// The entry tells itself apart as the process entry by process.argv[1] (cli/entry.ts).
process.argv.splice(1, process.argv.length - 1, entry, ...args);

const bundle = await bundleSources(entry, 'run');
if (bundle === null) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
} else {
  try {
    await import(pathToFileURL(bundle.file).href);
  } finally {
    // Loaded: node no longer reads the file (the bundle holds its dynamic imports too).
    bundle.remove();
  }
}
