import { execFile } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../schema/privacy.ts';
import { connectStore, type StoreDb } from '../../server/store/connect.ts';
import { createRegionStore } from '../../server/store/region-store.ts';
import { parseStoreUrl } from '../../server/store/store-url.ts';
import type { EventRow, RegionStore } from '../../server/store/types.ts';
import { uuidv7 } from '../../bench/ingest-event-ids.ts';
import { ALL_CONSENT, eventOf } from '../server/app/helpers.ts';
import { sql } from './direct-db.ts';
import { ADMIN, AUDITOR, OPERATOR_US, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

const DAY = 86_400_000;
const withPostgres = await postgresAvailable();

describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])('retention and the compliance report on %s', (flavour) => {
  let stack: PrivacyStack;
  // The CLI is an HTTP client: its exit codes are checked once, against the SQLite stack.
  const withCli = flavour === 'sqlite';
  const dbs: StoreDb[] = [];
  const stores: Record<string, RegionStore> = {};
  const devices: Record<string, string> = {};

  function cli(token: string): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'server/compliance-cli.ts', '--api', stack.server.httpUrl, '--token', token],
        { timeout: 30_000 },
        (err, stdout) => {
          resolve({ code: err ? Number(err.code) : 0, stdout });
        },
      );
    });
  }

  /** A row as ingest would have stored it, `ageDays` old by device time and arrival. */
  function row(region: string, kind: 'brew' | 'location', ageDays: number): EventRow {
    const at = new Date(Date.now() - ageDays * DAY);
    const event = eventOf(kind, devices[region]!, at);
    return {
      id: uuidv7(at.getTime()),
      deviceId: event.deviceId,
      kind,
      seq: 1,
      deviceTs: at,
      receivedAt: at,
      consentVersion: 1,
      body: JSON.stringify(event.body),
    };
  }

  beforeAll(async () => {
    // us keeps locations one day only; everything else the defaults (location 30 days, usage 365).
    stack = await startPrivacyStack(flavour, { privacy: { regionRetention: { us: { location: 1 } } } });
    for (const region of ['eu', 'us']) {
      devices[region] = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT })).json as { id: string }).id;
      const db = await connectStore(parseStoreUrl(stack.storeUrls[region]!), pino({ level: 'silent' }));
      dbs.push(db);
      stores[region] = createRegionStore(region, db);
    }
  }, 60_000);

  afterAll(async () => {
    for (const db of dbs) await db.client.$disconnect();
    await stack?.close();
  });

  const kept: string[] = [];
  const expired: string[] = [];

  it('reports overdue rows (CLI exit 1), sweeps exactly them, then reports clean (exit 0)', async () => {
    const plan: [string, 'brew' | 'location', number, boolean][] = [
      ['eu', 'location', 31, false],
      ['eu', 'location', 29, true],
      ['eu', 'brew', 31, true],
      ['eu', 'brew', 400, false],
      ['us', 'location', 2, false],
      ['us', 'location', 0.5, true],
      ['us', 'brew', 2, true],
    ];
    for (const [region, kind, age, stays] of plan) {
      const r = row(region, kind, age);
      await stores[region]!.insertEvents([r]);
      (stays ? kept : expired).push(r.id);
    }
    await stores.eu!.insertRefusals([
      { receivedAt: new Date(Date.now() - 40 * DAY), reason: 'schema_invalid', deviceId: devices.eu!, eventId: null, kind: 'brew', payload: null },
    ]);

    const before = (await stack.api('GET', '/api/v1/compliance', AUDITOR)).json as ComplianceReport;
    expect(before.totals).toMatchObject({ retentionOverdue: 4, residencyViolations: 0, unconsentedRows: 0, auditChain: 'ok' });
    expect(before.ok).toBe(false);
    if (withCli) {
      const failing = await cli(AUDITOR);
      expect(failing.code).toBe(1);
      expect(failing.stdout.trim().split('\n').at(-1)).toBe(
        'residency_violations=0 unconsented_rows=0 retention_overdue=4 audit_chain=ok transfers_outside_rules=0',
      );
    }

    const swept = await stack.api('POST', '/api/v1/retention/sweep', ADMIN);
    expect(swept.json).toEqual({
      regions: [
        { region: 'eu', deleted: { usage: 1, location: 1, payment: 0, diagnostics: 0, quarantine: 1 } },
        { region: 'us', deleted: { usage: 0, location: 1, payment: 0, diagnostics: 0, quarantine: 0 } },
      ],
    });
    const remaining = [
      ...(await sql<{ id: string }>(stack.storeUrls.eu!, 'SELECT "id" FROM "Event"')),
      ...(await sql<{ id: string }>(stack.storeUrls.us!, 'SELECT "id" FROM "Event"')),
    ].map((r) => r.id);
    expect(remaining.sort()).toEqual([...kept].sort());

    const clean = (await stack.api('GET', '/api/v1/compliance', ADMIN)).json as ComplianceReport;
    expect(clean.ok).toBe(true);
    if (withCli) {
      const passing = await cli(ADMIN);
      expect(passing.code).toBe(0);
      expect(passing.stdout).toContain('region eu');
      expect(passing.stdout.trim().split('\n').at(-1)).toBe(
        'residency_violations=0 unconsented_rows=0 retention_overdue=0 audit_chain=ok transfers_outside_rules=0',
      );
    }
  });

  it('shows a regional operator its own region only', async () => {
    const report = (await stack.api('GET', '/api/v1/compliance', OPERATOR_US)).json as ComplianceReport;
    expect(report.regions.map((r) => r.region)).toEqual(['us']);
    expect(report.directory).toBeNull();
  });

  it('counts residency violations and unconsented rows, and a broken audit chain fails the CLI', async () => {
    // A row of the eu device written into the us store, and one its consent never allowed (version 99).
    const foreign = row('eu', 'brew', 0);
    await stores.us!.insertEvents([foreign]);
    await stores.eu!.insertEvents([{ ...row('eu', 'brew', 0), consentVersion: 99 }]);
    await sql(stack.storeUrls.us!, `UPDATE "AuditEntry" SET "detail" = '{}' WHERE "seq" = 1`);
    const report = (await stack.api('GET', '/api/v1/compliance', ADMIN)).json as ComplianceReport;
    expect(report.totals).toEqual({ residencyViolations: 1, unconsentedRows: 2, retentionOverdue: 0, auditChain: 'broken', transfersOutsideRules: 0 });
    if (withCli) {
      const result = await cli(ADMIN);
      expect(result.code).toBe(1);
      expect(result.stdout.trim().split('\n').at(-1)).toBe(
        'residency_violations=1 unconsented_rows=2 retention_overdue=0 audit_chain=broken transfers_outside_rules=0',
      );
    }
  });

  it.runIf(withCli)('exits 2 when the report cannot be had', async () => {
    expect((await cli('not-a-valid-token-0000000')).code).toBe(2);
  });
});
