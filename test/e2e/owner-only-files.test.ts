import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceOwnerOnlyFile } from '../../firmware-sim/owner-only-files.ts';
import { recordRun } from '../../firmware-sim/run-recording.ts';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { loadFleetCredentials, saveFleetCredentials, type StoredMachine } from '../../launcher/fleet-credentials.ts';
import { startStack } from '../../launcher/stack.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { startServer } from '../../server/server.ts';

/**
 * Every store file, key, credentials file and recording is created 0600 in folders created 0700, with
 * the most permissive umask in effect, so nothing but the mode given at open can be what makes them
 * owner-only.
 */
const silent = pino({ level: 'silent' });
const mode = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8);

let root: string;
let savedUmask: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'brewtel-modes-'));
  savedUmask = process.umask(0o000);
});

afterAll(async () => {
  process.umask(savedUmask);
  if (root) await rm(root, { recursive: true, force: true });
});

const serverConfig = (dataDir: string, extra: Record<string, unknown> = {}) =>
  serverConfigSchema.parse({
    regions: ['eu', 'us'],
    dataDir,
    http: { port: 0 },
    adminToken: 'admin-token-0123456789abcdef',
    brokerToken: 'broker-token-0123456789abcdef',
    ...extra,
  });

describe('owner-only files from the first byte', () => {
  it('the server: data folder, SQLite stores with their -wal and -shm, a store outside it, pseudonym keys', async () => {
    const dataDir = join(root, 'server', 'data');
    const elsewhere = join(root, 'elsewhere', 'deeper');
    const server = await startServer(serverConfig(dataDir, { stores: { us: `file:${join(elsewhere, 'us.db')}` } }), silent);
    try {
      for (const dir of [join(root, 'server'), dataDir, join(root, 'elsewhere'), elsewhere]) expect([dir, await mode(dir)]).toEqual([dir, '700']);
      const inData = (await readdir(dataDir)).sort();
      expect(inData).toEqual(
        expect.arrayContaining([
          'directory.db',
          'directory.db-shm',
          'directory.db-wal',
          'eu.db',
          'eu.db-shm',
          'eu.db-wal',
          'pseudonym-eu.key',
          'pseudonym-us.key',
        ]),
      );
      const inElsewhere = (await readdir(elsewhere)).sort();
      expect(inElsewhere).toEqual(['us.db', 'us.db-shm', 'us.db-wal']);
      for (const file of [...inData.map((f) => join(dataDir, f)), ...inElsewhere.map((f) => join(elsewhere, f))]) {
        expect([file, await mode(file)]).toEqual([file, '600']);
      }
    } finally {
      await server.close();
    }
  });

  it('warns about a store file made before this rule that others may read, and leaves its mode alone', async () => {
    const dataDir = join(root, 'legacy');
    await mkdir(dataDir, { mode: 0o700 });
    await writeFile(join(dataDir, 'eu.db'), '', { mode: 0o644 });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const server = await startServer(serverConfig(dataDir), pino({ level: 'warn' }, sink));
    await server.close();
    const warned = lines
      .map((line) => JSON.parse(line) as { msg: string; store?: string })
      .filter((line) => line.msg.startsWith('store file is readable by group or others'));
    expect(warned.map((line) => line.store)).toEqual([`sqlite ${join(dataDir, 'eu.db')}`]);
    expect(await mode(join(dataDir, 'eu.db'))).toBe('644');
  });

  it('the launcher: its data folder and the demo fleet credentials', async () => {
    const dataDir = join(root, 'launcher', 'data');
    const stack = await startStack(
      launcherConfigSchema.parse({ machines: 2, httpPort: 0, mqttPort: 0, wsPort: null, dataDir, speed: 3600, logLevel: 'silent' }),
      silent,
    );
    await stack.close();
    expect(await mode(join(root, 'launcher'))).toBe('700');
    expect(await mode(dataDir)).toBe('700');
    const files = await readdir(dataDir);
    expect(files).toContain('fleet-credentials.json');
    for (const file of files) expect([file, await mode(join(dataDir, file))]).toEqual([file, '600']);
    expect(await loadFleetCredentials(join(dataDir, 'fleet-credentials.json'))).toHaveLength(2);
  });

  /**
   * Someone who could open the old file while it was readable keeps that descriptor after any chmod:
   * the secrets must go to a new file, never into the old one.
   */
  const machine: StoredMachine = { deviceId: 'cm-aaaaaaaaaaaaaaaa', secret: 'the-secret-0123456789abcdef', region: 'eu', profile: 'compliant' };
  it.each([
    ['the launcher fleet credentials', (file: string) => saveFleetCredentials(file, [machine])],
    ['the simulator --save-credentials file', (file: string) => replaceOwnerOnlyFile(file, JSON.stringify([machine]))],
  ])('%s replaces a world-readable file instead of writing into it', async (_name, save) => {
    const file = join(root, `replace-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, 'old content\n', { mode: 0o644 });
    const reader = await open(file, 'r');
    try {
      await save(file);
      expect(await mode(file)).toBe('600');
      expect(await readFile(file, 'utf8')).toContain(machine.secret);
      expect(await reader.readFile('utf8')).toBe('old content\n');
    } finally {
      await reader.close();
    }
    expect((await readdir(root)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('the simulator --record file, new or replacing a world-readable one', async () => {
    for (const existing of [false, true]) {
      const file = join(root, `run-${existing}.jsonl`);
      if (existing) {
        await writeFile(file, 'old\n', { mode: 0o666 });
        await chmod(file, 0o666);
      }
      const recorder = recordRun(file);
      recorder.record('cm-aaaaaaaaaaaaaaaa', 'brew', '{"leaked":"owner name"}');
      await recorder.close();
      expect([existing, await mode(file)]).toEqual([existing, '600']);
      expect(await readFile(file, 'utf8')).toContain('leaked');
    }
  });

  it('broker/dev-ca.sh: its folder and keys', async () => {
    const dir = join(root, 'ca', 'dev');
    await promisify(execFile)('sh', ['broker/dev-ca.sh', dir, 'cm-bbbbbbbbbbbbbbbb'], { timeout: 30_000 });
    expect(await mode(join(root, 'ca'))).toBe('700');
    expect(await mode(dir)).toBe('700');
    for (const key of ['ca.key', 'server.key', 'cm-bbbbbbbbbbbbbbbb.key']) expect([key, await mode(join(dir, key))]).toEqual([key, '600']);
  });
});
