import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mosquittoConfigSchema, type MosquittoConfigInput } from '../../server/config.ts';
import { createMetrics } from '../../server/metrics/metrics.ts';
import { renderAclFile } from '../../server/mosquitto/acl-file.ts';
import { createMosquittoSync } from '../../server/mosquitto/mosquitto-sync.ts';
import { mosquittoHash, mosquittoHashMatches, parsePasswordFile } from '../../server/mosquitto/password-file.ts';
import type { DirectoryEntry } from '../../server/store/types.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brewtel-mosquitto-sync-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (deviceId: string, secretHash = 'hmac-sha256$k$m'): DirectoryEntry => ({ deviceId, region: 'eu', secretHash, createdAt: new Date() });

function syncOf(config: Partial<MosquittoConfigInput>, devices: DirectoryEntry[] = []) {
  const metrics = createMetrics();
  const sync = createMosquittoSync({
    config: mosquittoConfigSchema.parse({ passwordFile: join(dir, 'passwd'), aclFile: join(dir, 'acl'), ...config }),
    services: [{ username: 'svc-ingest', password: 'service-password' }],
    shareGroup: 'plane-eu',
    listDevices: async () => devices,
    canLogIn: (e) => e.secretHash !== 'revoked',
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const count = async (step: string, outcome: string): Promise<number> =>
    (await metrics.mosquittoSync.get()).values.find((v) => v.labels.step === step && v.labels.outcome === outcome)?.value ?? 0;
  return { sync, count };
}

describe("Mosquitto's password file format", () => {
  it('verifies what mosquitto_passwd writes, and mosquitto_passwd keeps what we write', async () => {
    const file = join(dir, 'theirs');
    const passwd = '/usr/bin/mosquitto_passwd';
    if (!existsSync(passwd)) {
      if (process.env.CI === 'true') throw new Error(`${passwd} is missing under CI`);
      return;
    }
    execFileSync(passwd, ['-c', '-b', file, 'alice', 'open sesame']);
    const theirs = parsePasswordFile(await readFile(file, 'utf8')).get('alice')!;
    expect(await mosquittoHashMatches('open sesame', theirs)).toBe(true);
    expect(await mosquittoHashMatches('open sesame!', theirs)).toBe(false);
    // Ours next to theirs: mosquitto_passwd -D removes its own line and leaves ours as written.
    const ours = await mosquittoHash('secret');
    await writeFile(file, `${await readFile(file, 'utf8')}bob:${ours}\n`);
    execFileSync(passwd, ['-D', file, 'alice']);
    expect(parsePasswordFile(await readFile(file, 'utf8'))).toEqual(new Map([['bob', ours]]));
  });
});

describe('the Mosquitto sync', () => {
  it("reconciles: service accounts in, lines of devices the registry refuses out, other accounts' lines kept", async () => {
    const keep = await mosquittoHash('keep');
    await writeFile(join(dir, 'passwd'), `svc-monitor:${keep}\ncm-gone0000000000000:$7$1$x$y\ncm-erased00000000000:$7$1$x$y\ncm-alive00000000000:$7$1$x$y\n`);
    const { sync, count } = syncOf({}, [entry('cm-alive00000000000'), entry('cm-erased00000000000', 'revoked')]);
    await sync.reconcile();
    const lines = parsePasswordFile(await readFile(join(dir, 'passwd'), 'utf8'));
    expect([...lines.keys()]).toEqual(['svc-monitor', 'cm-alive00000000000', 'svc-ingest']);
    expect(lines.get('svc-monitor')).toBe(keep);
    expect(await mosquittoHashMatches('service-password', lines.get('svc-ingest')!)).toBe(true);
    expect(await readFile(join(dir, 'acl'), 'utf8')).toBe(renderAclFile({ services: ['svc-ingest'], shareGroup: 'plane-eu' }));
    expect(await count('write', 'ok')).toBe(1);

    // A second start keeps the service line it finds valid, byte for byte.
    const again = syncOf({}, [entry('cm-alive00000000000')]);
    await again.sync.reconcile();
    expect(parsePasswordFile(await readFile(join(dir, 'passwd'), 'utf8')).get('svc-ingest')).toBe(lines.get('svc-ingest'));
  });

  it('two processes writing at once each keep the other one’s lines (the lock file)', async () => {
    const [one, two] = [syncOf({}), syncOf({})];
    const ids = Array.from({ length: 20 }, (_, i) => `cm-lock${String(i).padStart(13, '0')}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? one : two).sync.added([{ deviceId: id, secret: `s${i}` }])));
    const lines = parsePasswordFile(await readFile(join(dir, 'passwd'), 'utf8'));
    expect([...lines.keys()].sort()).toEqual([...ids].sort());
    expect(await mosquittoHashMatches('s3', lines.get(ids[3]!)!)).toBe(true);
    await one.sync.removed(ids.slice(0, 10));
    expect([...parsePasswordFile(await readFile(join(dir, 'passwd'), 'utf8')).keys()].sort()).toEqual(ids.slice(10).sort());
  });

  it('a write or reload that fails is counted and logged, and never rejects', async () => {
    const broken = syncOf({ passwordFile: join(dir, 'missing-folder', 'passwd'), pidFile: join(dir, 'pid') });
    await expect(broken.sync.added([{ deviceId: 'cm-write0000000000000', secret: 's' }])).resolves.toBeUndefined();
    expect(await broken.count('write', 'failed')).toBe(1);
    expect(await broken.count('reload', 'ok')).toBe(0);

    await writeFile(join(dir, 'pid'), 'not a pid\n');
    const noPid = syncOf({ pidFile: join(dir, 'pid') });
    await expect(noPid.sync.removed(['cm-write0000000000000'])).resolves.toBeUndefined();
    expect(await noPid.count('write', 'ok')).toBe(1);
    expect(await noPid.count('reload', 'failed')).toBe(1);

    // Mosquitto not started yet: nothing to signal, its files are read when it starts.
    const notRunning = syncOf({ pidFile: join(dir, 'no-such.pid') });
    await notRunning.sync.reconcile();
    expect(await notRunning.count('reload', 'not_running')).toBe(1);
    expect(await notRunning.count('reload', 'failed')).toBe(0);
  });
});
