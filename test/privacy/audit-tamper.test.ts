import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditChainStatus, ComplianceReport, Owner } from '../../schema/privacy.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { canonicalEntry, GENESIS_HASH, legacyHash } from '../../server/privacy/audit-chain.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { openStores } from '../../server/store/open-stores.ts';
import type { AuditRecord } from '../../server/store/types.ts';
import { ALL_CONSENT } from '../server/app/helpers.ts';
import { sql } from './direct-db.ts';
import { ADMIN, AUDITOR, startPrivacyStack, type PrivacyStack } from './fixture.ts';

interface Row {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: string;
  prevHash: string;
  hash: string;
}

const recordOf = (r: Row): AuditRecord => ({ at: new Date(r.at), actor: r.actor, action: r.action, target: r.target, detail: r.detail });

/**
 * What an intruder with write access to a database file does to hide an entry: rewrites every link
 * after it with a hash function of their choice, so each row again matches the one before.
 */
async function rewriteChain(url: string, link: (prevHash: string, seq: number, record: AuditRecord) => string, edit?: (r: Row) => Row): Promise<void> {
  const rows = await sql<Row>(url, 'SELECT * FROM "AuditEntry" ORDER BY "seq"');
  let prev = GENESIS_HASH;
  for (const original of rows) {
    const row = edit ? edit(original) : original;
    const hash = link(prev, row.seq, recordOf(row));
    await sql(
      url,
      `UPDATE "AuditEntry" SET "actor" = '${row.actor}', "action" = '${row.action}', "prevHash" = '${prev}', "hash" = '${hash}' WHERE "seq" = ${row.seq}`,
    );
    prev = hash;
  }
}

describe('the audit chain against someone who can write the database', () => {
  let stack: PrivacyStack;

  const chains = async (): Promise<Record<string, AuditChainStatus>> => {
    const response = await stack.api('GET', '/api/v1/audit/verify', AUDITOR);
    expect(response.status).toBe(200);
    return Object.fromEntries((response.json as { chains: AuditChainStatus[] }).chains.map((c) => [c.store, c]));
  };

  beforeAll(async () => {
    stack = await startPrivacyStack('sqlite');
    // Some audited history in every chain: owners and devices in both regions, logins in the directory.
    for (const region of ['eu', 'us']) {
      const owner = (await stack.api('POST', '/api/v1/owners', ADMIN, { region, name: `Owner ${region}`, contact: `${region}@tamper.example` })).json as Owner;
      const deviceId = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT })).json as { id: string }).id;
      await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId });
      await stack.api('GET', `/api/v1/owners/${owner.id}`, ADMIN);
    }
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('verifies untouched chains as keyed from their first entry, each with a signed checkpoint at its head', async () => {
    const all = await chains();
    for (const store of ['eu', 'us', 'directory']) expect(all[store]).toMatchObject({ status: 'ok', brokenAt: null, reason: null, legacyEntries: 0 });
    expect(all.eu!.checkpointSeq).toBe(all.eu!.entries);
    const marker = await sql<Row>(stack.storeUrls.eu!, 'SELECT * FROM "AuditEntry" WHERE "seq" = 1');
    expect(marker[0]).toMatchObject({ action: 'audit.keyed', actor: 'system' });
    // Neither a plain sha256 link nor an HMAC under another key reproduces a stored hash.
    const row = (await sql<Row>(stack.storeUrls.eu!, 'SELECT * FROM "AuditEntry" WHERE "seq" = 2'))[0]!;
    expect(legacyHash(row.prevHash, row.seq, recordOf(row))).not.toBe(row.hash);
    const files = JSON.parse(await readFile(join(stack.dataDir, 'audit-head-eu.json'), 'utf8')) as { seq: number; mac: string };
    expect(files.seq).toBe(all.eu!.entries);
    expect(files.mac).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a truncated tail as broken, and keeps reporting it after new entries', async () => {
    const url = stack.storeUrls.eu!;
    const before = (await chains()).eu!;
    await sql(url, `DELETE FROM "AuditEntry" WHERE "seq" > ${before.entries - 2}`);
    expect((await chains()).eu).toMatchObject({ status: 'broken', reason: 'truncated', brokenAt: before.entries - 1, checkpointSeq: before.entries });
    const report = (await stack.api('GET', '/api/v1/compliance', AUDITOR)).json as ComplianceReport;
    expect(report.regions.find((r) => r.region === 'eu')!.auditChain).toMatchObject({ status: 'broken', reason: 'truncated' });
    expect(report.ok).toBe(false);
    // New entries take the removed seqs; the checkpoint does not follow them.
    for (let i = 0; i < 3; i++) await stack.api('GET', '/api/v1/fleet', ADMIN);
    expect((await chains()).eu).toMatchObject({ status: 'broken', reason: 'rewritten', checkpointSeq: before.entries });
  });

  it('reports a chain recomputed with plain sha256 after an edit as broken', async () => {
    const url = stack.storeUrls.us!;
    await rewriteChain(url, legacyHash, (r) => (r.seq === 3 ? { ...r, actor: 'mallory' } : r));
    expect((await chains()).us).toMatchObject({ status: 'broken', reason: 'edited', brokenAt: 1 });
    // Renaming the keyed marker too leaves a chain of sha256 links only: still broken.
    await rewriteChain(url, legacyHash, (r) => (r.seq === 1 ? { ...r, action: 'owner.read' } : r));
    expect((await chains()).us).toMatchObject({ status: 'broken', reason: 'unkeyed' });
  });

  it('reports a chain re-signed with a wrong key as broken', async () => {
    const wrongKey = Buffer.from('not-the-audit-key-0123456789abcdef');
    await rewriteChain(stack.storeUrls.directory!, (prev, seq, record) =>
      createHmac('sha256', wrongKey).update(prev).update(canonicalEntry(seq, record)).digest('hex'),
    );
    expect((await chains()).directory).toMatchObject({ status: 'broken', reason: 'edited', brokenAt: 1 });
  });
});

describe('a store whose chain was written before chains were keyed', () => {
  let dataDir: string;
  let server: RunningServer | undefined;
  const legacyEntries = 4;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-legacy-audit-'));
    const stores = await openStores({ regions: ['eu'], dataDir, stores: {} }, pino({ level: 'silent' }));
    const euStore = stores.regions.get('eu')!;
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= legacyEntries; seq++) {
      const record = { at: new Date(Date.now() - 60_000 + seq), actor: 'admin', action: 'owner.read', target: `own-eu-legacy${seq}`, detail: '{}' };
      const hash = legacyHash(prevHash, seq, record);
      await euStore.appendAudit({ ...record, seq, prevHash, hash });
      prevHash = hash;
    }
    await stores.close();
    server = await startServer(
      serverConfigSchema.parse({
        regions: ['eu'],
        dataDir,
        http: { port: 0 },
        adminToken: ADMIN,
        brokerToken: 'broker-token-0123456789abcdef',
        logLevel: 'silent',
        tokens: [{ token: AUDITOR, role: 'auditor', subject: 'auditor' }],
      }),
      pino({ level: 'silent' }),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const euChain = async (): Promise<AuditChainStatus> => {
    const response = await fetch(`${server!.httpUrl}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${AUDITOR}` } });
    return ((await response.json()) as { chains: AuditChainStatus[] }).chains.find((c) => c.store === 'eu')!;
  };

  it('verifies the old entries as legacy links, anchored by the keyed marker that follows them', async () => {
    expect(await euChain()).toMatchObject({ status: 'ok', entries: legacyEntries + 1, legacyEntries, checkpointSeq: legacyEntries + 1 });
    const url = `file:${join(dataDir, 'eu.db')}`;
    // A checkpoint moved back by hand (to hide a truncation) no longer verifies.
    const file = join(dataDir, 'audit-head-eu.json');
    const held = await readFile(file, 'utf8');
    await writeFile(file, JSON.stringify({ ...(JSON.parse(held) as object), seq: legacyEntries }));
    expect(await euChain()).toMatchObject({ status: 'broken', reason: 'checkpoint_forged' });
    await writeFile(file, held);
    expect(await euChain()).toMatchObject({ status: 'ok' });
    expect((await sql<Row>(url, `SELECT * FROM "AuditEntry" WHERE "seq" = ${legacyEntries + 1}`))[0]).toMatchObject({
      action: 'audit.keyed',
      detail: JSON.stringify({ legacyEntries }),
    });
    // A legacy entry can be recomputed by anyone, but the marker's keyed link covers the last of them.
    await rewriteChain(url, legacyHash, (r) => (r.seq === 2 ? { ...r, actor: 'mallory' } : r));
    expect(await euChain()).toMatchObject({ status: 'broken', reason: 'edited', brokenAt: legacyEntries + 1 });
  });
});
