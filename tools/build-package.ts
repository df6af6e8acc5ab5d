/**
 * `npm run build` (and `npm pack` through prepack): compiles the package's entry points to ESM and
 * .d.ts in dist/, and copies next to the compiled files what they read from disk at run time, so an
 * installed package finds it relative to its own files, never the working directory:
 *   - the checked-in migrations (server/store/migration-files.ts reads them beside itself),
 *   - the built dashboard (server/dashboard/static-route.ts serves ./dist/ beside itself).
 * The Prisma clients in server/store/generated are TypeScript and are compiled with the rest.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');

function step(what: string): void {
  process.stdout.write(`build: ${what}\n`);
}

function fail(message: string): never {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

step('cleaning dist/');
rmSync(dist, { recursive: true, force: true });

for (const needed of [
  'server/store/generated/sqlite/client.ts',
  'server/store/generated/postgres/client.ts',
  'server/dashboard/dist/index.html',
  'server/dashboard/dist/deployment.html',
]) {
  if (!existsSync(join(root, needed))) fail(`${needed} is missing; run npm run prisma:generate and npm run dashboard:build (npm ci runs both)`);
}

step('compiling with tsconfig.build.json');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) fail('tsc failed');

// tsc rewrites the sources' `.ts` import specifiers in the JavaScript it emits, not in declarations;
// a consumer's compiler without allowImportingTsExtensions would refuse `./fleet.ts` in a .d.ts.
step('pointing declarations at .js specifiers');
const relativeTsSpecifier = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g;
for (const file of filesUnder(dist).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(relativeTsSpecifier, (_, lead: string, quote: string, path: string) => `${lead}${quote}${path}.js${quote}`);
  if (rewritten !== text) writeFileSync(file, rewritten);
}

// aedes-persistence-redis ships no typings; the repository's own declaration goes with cluster.d.ts.
step('adding the aedes-persistence-redis declaration');
cpSync(join(root, 'broker/aedes-persistence-redis.d.ts'), join(dist, 'broker/aedes-persistence-redis.d.ts'));
const clusterTypes = join(dist, 'broker/cluster.d.ts');
writeFileSync(clusterTypes, `/// <reference path="./aedes-persistence-redis.d.ts" />\n${readFileSync(clusterTypes, 'utf8')}`);

step('copying the migrations and the built dashboard');
for (const kind of ['sqlite', 'postgres']) {
  cpSync(join(root, 'server/store/prisma', kind, 'migrations'), join(dist, 'server/store/prisma', kind, 'migrations'), { recursive: true });
}
cpSync(join(root, 'server/dashboard/dist'), join(dist, 'server/dashboard/dist'), { recursive: true });

chmodSync(join(dist, 'launcher/cli.js'), 0o755);
step(`done: ${filesUnder(dist).length} files in ${relative(process.cwd(), dist) || '.'}/`);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}
