import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../bench/ingest-event-ids.ts';
import { ownerExportSchema, type Owner } from '../../schema/privacy.ts';
import { serverConfigSchema } from '../../server/config.ts';
import { pseudonymOf } from '../../server/privacy/pseudonym.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import { openStores } from '../../server/store/open-stores.ts';
import { validEvents } from '../schema/samples.ts';
import { sql } from './direct-db.ts';
import { ADMIN } from './fixture.ts';

const MIGRATION = '20261201200000_ownership_periods_audit_checkpoints';

/**
 * A store written before owner data was sealed and before ownership periods existed: its plain-text
 * owner rows are sealed at start, and its owned devices keep all their events for their owner.
 */
describe('an owner row from before sealing and periods', () => {
  let dataDir: string;
  let server: RunningServer | undefined;
  const ownerId = 'own-eu-legacylegacylega';
  const name = 'Ludmila Oldrow-Plaintext';
  const contact = 'ludmila@legacy.example';
  const deviceId = 'cm-legacylegacylega';
  const eventId = uuidv7(Date.now() - 3_600_000);
  const url = (): string => `file:${join(dataDir, 'eu.db')}`;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-legacy-owner-'));
    const logger = pino({ level: 'silent' });
    const config = serverConfigSchema.parse({
      regions: ['eu'],
      dataDir,
      http: { port: 0 },
      adminToken: ADMIN,
      brokerToken: 'broker-token-0123456789abcdef',
      logLevel: 'silent',
    });
    // The pseudonym secret the server will use: generated into the data folder by a first start.
    await (await startServer(config, logger)).close();
    const secret = (await readFile(join(dataDir, 'pseudonym-eu.key'), 'utf8')).trim();
    // Back to the schema before this round: no period and checkpoint tables, owners in plain text.
    await sql(url(), 'DROP TABLE "OwnershipPeriod"');
    await sql(url(), 'DROP TABLE "AuditCheckpoint"');
    await sql(url(), `DELETE FROM "_prisma_migrations" WHERE "migration_name" = '${MIGRATION}'`);
    const now = new Date().toISOString().replace('Z', '+00:00');
    await sql(
      url(),
      `INSERT INTO "Owner" ("id", "pseudonym", "name", "contact", "createdAt") VALUES ('${ownerId}', '${pseudonymOf(secret, ownerId)}', '${name}', '${contact}', '${now}')`,
    );
    await sql(url(), `INSERT INTO "Device" ("id", "createdAt", "ownerPseudonym") VALUES ('${deviceId}', '${now}', '${pseudonymOf(secret, ownerId)}')`);
    const ts = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00');
    await sql(
      url(),
      `INSERT INTO "Event" ("id", "deviceId", "kind", "seq", "deviceTs", "receivedAt", "consentVersion", "body")
      VALUES ('${eventId}', '${deviceId}', 'brew', 1, '${ts}', '${ts}', 1, '${JSON.stringify(validEvents.brew.body)}')`,
    );
    // The migration brings the tables back and gives the owned device its period; the start seals the owner.
    const stores = await openStores({ regions: ['eu'], dataDir, stores: {} }, logger);
    await stores.close();
    server = await startServer(config, logger);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const api = async (path: string): Promise<{ status: number; json: unknown }> => {
    const response = await fetch(`${server!.httpUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: response.status, json: await response.json() };
  };

  it('is sealed at start, readable through the API, and its plain text is in no file any more', async () => {
    const row = (await sql<{ name: string; contact: string }>(url(), `SELECT "name", "contact" FROM "Owner" WHERE "id" = '${ownerId}'`))[0]!;
    expect(row.name).toMatch(/^sealed:v1:/);
    expect(row.contact).toMatch(/^sealed:v1:/);
    expect(await api(`/api/v1/owners/${ownerId}`)).toMatchObject({ status: 200, json: { name, contact, devices: [deviceId] } });
    for (const entry of await readdir(dataDir)) {
      const bytes = await readFile(join(dataDir, entry));
      expect(bytes.includes(Buffer.from(name)), entry).toBe(false);
      expect(bytes.includes(Buffer.from(contact)), entry).toBe(false);
    }
  });

  it("keeps every event of an owned device its owner's, through a period from the epoch", async () => {
    const periods = await sql<{ ownerPseudonym: string; startedAt: string; endedAt: string | null }>(
      url(),
      `SELECT * FROM "OwnershipPeriod" WHERE "deviceId" = '${deviceId}'`,
    );
    expect(periods).toHaveLength(1);
    expect(new Date(periods[0]!.startedAt).getTime()).toBe(0);
    const document = ownerExportSchema.parse((await api(`/api/v1/owners/${ownerId}/export`)).json);
    expect(document.devices.map((d) => d.events.map((e) => e.id))).toEqual([[eventId]]);
    expect((document.owner as Owner | { name: string }).name).toBe(name);
  });
});
