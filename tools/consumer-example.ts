/**
 * `npm run test:consumer`: examples/consumer as a user's project meets brewtel. Packs the package
 * (`npm pack`, which builds it), copies the example into a temporary directory outside the
 * repository, installs the tarball and the example's own dev dependencies there (from npm's cache
 * when it holds them), and runs the example's `npm test`. Exits with its code; the directory goes.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

function run(command: string, args: readonly string[], cwd: string): Promise<number> {
  process.stderr.write(`$ ${command} ${args.join(' ')}   (in ${cwd})\n`);
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: 'inherit' });
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'brewtel-consumer-'));
  try {
    const packed = await run('npm', ['pack', '--pack-destination', work, '--silent'], root);
    if (packed !== 0) return packed;
    const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error('npm pack wrote no tarball');
    const project = join(work, 'consumer');
    await cp(join(root, 'examples', 'consumer'), project, { recursive: true, filter: (source) => !source.includes('node_modules') });
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], project);
    if (installed !== 0) return installed;
    return await run('npm', ['test'], project);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
