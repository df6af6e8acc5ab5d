/**
 * Compiles one of the repository's TypeScript entry points with esbuild into a single ES module
 * under node_modules/.cache/brewtel, the repository's own modules bundled and every package left
 * external, so that a process run from sources needs no TypeScript loader: tsx registers its hooks
 * on a thread of their own (a second V8 isolate) and keeps an esbuild service process running, about
 * 30 MB and 17 MB at 10,000 machines (docs/benchmarks.md).
 *
 * Plain JavaScript because `npm start` runs it before anything can compile TypeScript.
 *
 * Each module keeps its own `import.meta.url`, `.dirname` and `.filename`: they are replaced by the
 * source file's, so a module finds what lies beside it (migrations, the built dashboard, the Prisma
 * client's files, the fleet's entry) and tells itself apart as the process entry (cli/entry.ts)
 * exactly as when it runs from its own file.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, 'node_modules', '.cache', 'brewtel');
/** `<name>-<pid>-<n>.mjs`: one file per build, so concurrent processes never read a file another is writing. */
const BUNDLE_FILE = /-(\d+)-\d+\.mjs$/;
const OWN_MODULE = /\.(ts|mjs)$/;
/** Spelled in pieces, or this file would rewrite its own needles when it is bundled itself (by the fleet's entry). */
const META = ['import', 'meta'].join('.');

let built = 0;

/** Source-true `import.meta` for the repository's own modules (node_modules are left external anyway). */
const sourceLocations = {
  name: 'source-locations',
  setup(build) {
    build.onLoad({ filter: OWN_MODULE }, (args) => {
      if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
      const text = readFileSync(args.path, 'utf8')
        .replaceAll(`${META}.url`, JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll(`${META}.dirname`, JSON.stringify(dirname(args.path)))
        .replaceAll(`${META}.filename`, JSON.stringify(args.path));
      return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** Bundles left by processes that are gone (killed before they could remove theirs). */
function removeOrphans() {
  for (const name of readdirSync(CACHE)) {
    const pid = Number(BUNDLE_FILE.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(CACHE, name), { force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * Bundles `entry` (an absolute path) and resolves with the bundle's path and a `remove` that deletes
 * it (idempotent; once the bundle is loaded, node no longer needs its file); with null when esbuild
 * is not installed (it is a devDependency: there from sources, not in the package).
 */
export async function bundleSources(entry, name) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND') return null;
    throw err;
  }
  mkdirSync(CACHE, { recursive: true });
  removeOrphans();
  const file = join(CACHE, `${name}-${process.pid}-${++built}.mjs`);
  await esbuild.build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    plugins: [sourceLocations],
  });
  // esbuild keeps its service process running for further builds; there are none.
  await esbuild.stop();
  let removed = false;
  return {
    file,
    remove() {
      if (removed) return;
      removed = true;
      rmSync(file, { force: true });
    },
  };
}
