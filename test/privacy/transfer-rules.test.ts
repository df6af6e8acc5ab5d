import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, AuditChainStatus, ComplianceReport, Owner } from '../../schema/privacy.ts';
import { topics } from '../../schema/topics.ts';
import { transferBatchSchema, type TransferBatch } from '../../schema/transfers.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { ADMIN, AUDITOR, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

/** A small real HTTP server standing for the `global` view: keeps every body it is sent. */
async function startDestination(): Promise<{ url: string; received: { path: string; body: string }[]; close(): Promise<void> }> {
  const received: { path: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const BASIS = 'aggregated counts, not personal data (GDPR Recital 26)';
const withPostgres = await postgresAvailable();

describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])(
  'transfer rules on %s: nothing leaves a plane without one',
  (flavour) => {
    let stack: PrivacyStack;
    let destination: Awaited<ReturnType<typeof startDestination>>;
    let device: MqttClient;
    const devices: Record<string, string> = {};
    let owner: Owner;

    beforeAll(async () => {
      destination = await startDestination();
      stack = await startPrivacyStack(flavour, {
        transfers: {
          rules: [
            {
              name: 'eu-brew-stats',
              from: 'eu',
              to: 'global',
              categories: ['brew-statistics', 'event-counts'],
              legalBasis: BASIS,
              destinationUrl: `${destination.url}/brews`,
              // Lower than the default 5, so one bucket of this small fixture goes and one stays home.
              minCount: 3,
            },
            { name: 'eu-counts-export', from: 'eu', to: 'global', categories: ['event-counts'], legalBasis: BASIS },
            { name: 'eu-broken-sink', from: 'eu', to: 'global', categories: ['event-counts'], legalBasis: BASIS, destinationUrl: `${destination.url}/fail` },
          ],
        },
      });
      for (const region of ['eu', 'us']) {
        devices[region] = ((await stack.api('POST', '/api/v1/devices', ADMIN, { region, consent: ALL_CONSENT })).json as { id: string }).id;
      }
      owner = (await stack.api('POST', '/api/v1/owners', ADMIN, { region: 'eu', name: 'Ines Transferova', contact: 'ines@example.test' })).json as Owner;
      expect(await stack.api('POST', `/api/v1/owners/${owner.id}/devices`, ADMIN, { deviceId: devices.eu }).then((r) => r.status)).toBe(200);

      // Brews and a position through the real broker and ingest: eu 3 espresso + 2 latte, us 4 americano.
      device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `transfer-test-device-${flavour}` });
      const plan: [string, string][] = [
        ['eu', 'espresso'],
        ['eu', 'espresso'],
        ['eu', 'espresso'],
        ['eu', 'latte'],
        ['eu', 'latte'],
        ['us', 'americano'],
        ['us', 'americano'],
        ['us', 'americano'],
        ['us', 'americano'],
      ];
      let seq = 0;
      for (const [region, recipe] of plan) {
        const event = eventOf('brew', devices[region]!, new Date(), ++seq);
        event.body.recipe = recipe as typeof event.body.recipe;
        await device.publishAsync(topics.event(devices[region]!, 'brew'), JSON.stringify(event), { qos: 1 });
      }
      await device.publishAsync(topics.event(devices.eu!, 'location'), JSON.stringify(eventOf('location', devices.eu!, new Date(), ++seq)), { qos: 1 });
      await eventually(async () => {
        const { regions } = (await stack.api('GET', '/api/v1/regions', ADMIN)).json as { regions: { region: string; stored: number }[] };
        expect(regions.find((r) => r.region === 'eu')?.stored).toBe(6);
        expect(regions.find((r) => r.region === 'us')?.stored).toBe(4);
      });
    }, 60_000);

    afterAll(async () => {
      await device?.endAsync();
      await stack?.close();
      await destination?.close();
    });

    const auditOf = async (region: string): Promise<AuditEntry[]> =>
      ((await stack.api('GET', `/api/v1/audit?region=${region}&target=transfers`, AUDITOR)).json as { entries: AuditEntry[] }).entries;

    it('sends the counts a rule allows to its destination over HTTP, buckets below its minimum left out, and nothing personal', async () => {
      const { status, json } = await stack.api('POST', '/api/v1/transfers/eu-brew-stats', ADMIN, { from: 'eu' });
      expect(status).toBe(200);
      expect((json as { delivered: unknown }).delivered).toEqual({ url: `${destination.url}/brews`, status: 200 });

      expect(destination.received).toHaveLength(1);
      const sent = destination.received[0]!;
      expect(sent.path).toBe('/brews');
      const batch: TransferBatch = transferBatchSchema.parse(JSON.parse(sent.body));
      const day = new Date().toISOString().slice(0, 10);
      // 2 lattes and 1 location event are below the rule's 3: suppressed in the plane, only their number is said.
      expect(batch.brewStatistics).toEqual([{ day, recipe: 'espresso', brews: 3 }]);
      expect(batch.eventCounts).toEqual({ brew: 5 });
      expect(batch).toMatchObject({ rule: 'eu-brew-stats', from: 'eu', to: 'global', legalBasis: BASIS, minCount: 3, suppressedBuckets: 2 });
      // No device id of any region, no owner, no position, nothing of us.
      for (const secret of [
        devices.eu!,
        devices.us!,
        owner.id,
        owner.pseudonym,
        owner.name,
        owner.contact,
        'americano',
        'latte',
        '"location"',
        '48.85661',
        '2.35222',
        '"lat"',
        '"lon"',
      ]) {
        expect(sent.body).not.toContain(secret);
      }
    });

    it('audits the batch in the eu chain (counts, rule, basis; no data), and the chain verifies', async () => {
      const [entry] = (await auditOf('eu')).filter((e) => e.action === 'transfer.sent');
      expect(entry).toMatchObject({
        actor: 'admin',
        target: 'transfers',
        detail: {
          rule: 'eu-brew-stats',
          to: 'global',
          categories: 'brew-statistics,event-counts',
          legalBasis: BASIS,
          destination: `${destination.url}/brews`,
          aggregates: 2,
          suppressed: 2,
          minCount: 3,
        },
      });
      expect(JSON.stringify(entry)).not.toContain(devices.eu!);
      expect(await auditOf('us')).toEqual([]);
      const { chains } = (await stack.api('GET', '/api/v1/audit/verify', AUDITOR)).json as { chains: AuditChainStatus[] };
      expect(chains.map((c) => [c.store, c.status])).toEqual([
        ['eu', 'ok'],
        ['us', 'ok'],
        ['directory', 'ok'],
      ]);
    });

    it('answers an export rule (no destination) to the admin, with the default minimum of 5', async () => {
      const { status, json } = await stack.api('POST', '/api/v1/transfers/eu-counts-export', ADMIN, { from: 'eu', categories: ['event-counts'] });
      expect(status).toBe(200);
      const { batch, delivered } = json as { batch: TransferBatch; delivered: null };
      expect(delivered).toBeNull();
      expect(batch.eventCounts).toEqual({ brew: 5 });
      expect(batch).toMatchObject({ minCount: 5, suppressedBuckets: 1 });
      expect(batch.brewStatistics).toBeUndefined();
    });

    it('refuses a flow without a rule, with another source region, or for personal rows; audited, nothing sent', async () => {
      const before = destination.received.length;
      const refusals: [string, unknown][] = [
        ['no-such-rule', { from: 'eu' }],
        // A rule from eu cannot be used to move us data.
        ['eu-brew-stats', { from: 'us' }],
        ['eu-brew-stats', { from: 'eu', categories: ['events'] }],
        ['eu-counts-export', { from: 'eu', categories: ['brew-statistics'] }],
      ];
      for (const [rule, body] of refusals) {
        const { status, json } = await stack.api('POST', `/api/v1/transfers/${rule}`, ADMIN, body);
        expect([status, (json as { code: string }).code]).toEqual([403, 'TRANSFER_NOT_ALLOWED']);
      }
      expect((await stack.api('POST', '/api/v1/transfers/eu-brew-stats', AUDITOR, { from: 'eu' })).status).toBe(403);
      expect((await stack.api('POST', '/api/v1/transfers/eu-brew-stats', ADMIN, { from: 'xx' })).json).toMatchObject({ code: 'UNKNOWN_REGION' });
      expect(destination.received.length).toBe(before);

      const euRefused = (await auditOf('eu')).filter((e) => e.action === 'transfer.refused');
      expect(euRefused.map((e) => [e.detail.rule, e.detail.reason])).toEqual([
        ['no-such-rule', 'no_rule'],
        ['eu-brew-stats', 'category_not_allowed'],
        ['eu-counts-export', 'category_not_allowed'],
      ]);
      const usRefused = (await auditOf('us')).filter((e) => e.action === 'transfer.refused');
      expect(usRefused.map((e) => [e.detail.rule, e.detail.reason])).toEqual([['eu-brew-stats', 'wrong_source']]);
    });

    it('answers 502 when the destination does not take the batch, and audits the failure', async () => {
      const { status, json } = await stack.api('POST', '/api/v1/transfers/eu-broken-sink', ADMIN, { from: 'eu' });
      expect([status, (json as { code: string }).code]).toEqual([502, 'TRANSFER_DESTINATION_FAILED']);
      const actions = (await auditOf('eu')).filter((e) => e.detail.rule === 'eu-broken-sink').map((e) => e.action);
      expect(actions).toEqual(['transfer.sent', 'transfer.failed']);
    });

    it('lists the rules in force and counts batches, aggregates, suppressed buckets, refusals and failures in the compliance report', async () => {
      const report = (await stack.api('GET', '/api/v1/compliance', AUDITOR)).json as ComplianceReport;
      expect(report.transfers.rules.map((r) => [r.name, r.from, r.to, r.legalBasis])).toEqual([
        ['eu-brew-stats', 'eu', 'global', BASIS],
        ['eu-counts-export', 'eu', 'global', BASIS],
        ['eu-broken-sink', 'eu', 'global', BASIS],
      ]);
      expect(report.transfers.perRule).toEqual([
        { rule: 'eu-brew-stats', batches: 1, aggregates: 2, suppressed: 2, refusals: 2, failed: 0 },
        { rule: 'eu-counts-export', batches: 1, aggregates: 1, suppressed: 1, refusals: 1, failed: 0 },
        { rule: 'eu-broken-sink', batches: 1, aggregates: 1, suppressed: 1, refusals: 0, failed: 1 },
      ]);
      expect(report.transfers.refusedWithoutRule).toBe(1);
      expect(report.totals.transfersOutsideRules).toBe(0);
      expect(report.ok).toBe(true);
    });
  },
);

describe('transfer rule configuration', () => {
  const base = { adminToken: 'admin-token-0123456789abcdef', brokerToken: 'broker-token-0123456789abcdef', regions: ['eu', 'us'] };
  const rule = { name: 'eu-stats', from: 'eu', to: 'global', categories: ['brew-statistics'], legalBasis: BASIS };

  it('has no rule by default, and suppresses buckets below 5 unless told otherwise', () => {
    expect(serverConfigSchema.parse(base).transfers).toMatchObject({ rules: [], minCount: 5 });
    expect(serverConfigSchema.parse({ ...base, transfers: { minCount: 10, rules: [{ ...rule, minCount: 20 }] } }).transfers).toMatchObject({
      minCount: 10,
      rules: [{ minCount: 20 }],
    });
    expect(serverConfigSchema.safeParse({ ...base, transfers: { minCount: 0 } }).success).toBe(false);
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [{ ...rule, minCount: 0.5 }] } }).success).toBe(false);
  });

  it('refuses a rule from a region the server does not hold, a duplicate name, a personal category, a rule to its own region', () => {
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [rule] } }).success).toBe(true);
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [{ ...rule, from: 'cn' }] } }).success).toBe(false);
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [rule, { ...rule, to: 'us' }] } }).success).toBe(false);
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [{ ...rule, categories: ['events'] }] } }).success).toBe(false);
    expect(serverConfigSchema.safeParse({ ...base, transfers: { rules: [{ ...rule, to: 'eu' }] } }).success).toBe(false);
  });
});
