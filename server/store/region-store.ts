import { join, sqltag as sql } from '@prisma/client/runtime/client';
import { locationPrecisionSchema } from '../../schema/consent.ts';
import type { RegionId } from '../../schema/regions.ts';
import { createAuditStore } from './audit-store.ts';
import type { StoreDb } from './connect.ts';
import { eventRowOf } from './event-row.ts';
import { quarantineEntryOf } from './quarantine-row.ts';
import { createPrivacyStore } from './privacy-store.ts';
import { multiRowInserts } from './multi-row-insert.ts';
import { insertRefusals } from './refusal-insert.ts';
import { type ConsentRow, type EventQuery, type EventRow, type QuarantineEntry, type QuarantinePage, type RegionStore, StoreConflictError } from './types.ts';

/** A reader of another process can hold the WAL for a moment; the checkpoint waits a little for it. */
const WAL_TRUNCATE_ATTEMPTS = 10;
const WAL_TRUNCATE_RETRY_MS = 50;

const CONSENT_COLUMNS = ['deviceId', 'version', 'issuedAt', 'usage', 'location', 'payment', 'diagnostics', 'actor', 'channel'] as const;
const consentTuple = (r: ConsentRow) => [
  r.deviceId,
  r.version,
  r.issuedAt,
  r.categories.usage,
  r.categories.location,
  r.categories.payment,
  r.categories.diagnostics,
  r.actor,
  r.channel,
];

/** A region's own database: its devices and owners, their consent ledger, events, refusals, tombstones and audit log. */
/**
 * A ledger row as a query returns it: Prisma's typed rows, or a raw statement's (SQLite gives
 * booleans as 0/1 and times as text, PostgreSQL real types), with the location precision checked.
 */
function toConsentRow(r: {
  deviceId: string;
  version: number | bigint;
  issuedAt: Date | string | number;
  usage: boolean | number | bigint;
  location: string;
  payment: boolean | number | bigint;
  diagnostics: boolean | number | bigint;
  actor: string;
  channel: string;
}): ConsentRow {
  return {
    deviceId: r.deviceId,
    version: Number(r.version),
    issuedAt: r.issuedAt instanceof Date ? r.issuedAt : new Date(r.issuedAt),
    categories: {
      usage: Boolean(r.usage),
      location: locationPrecisionSchema.parse(r.location),
      payment: Boolean(r.payment),
      diagnostics: Boolean(r.diagnostics),
    },
    actor: r.actor,
    channel: r.channel,
  };
}

export function createRegionStore(region: RegionId, db: StoreDb): RegionStore {
  const { client } = db;
  return {
    ...createPrivacyStore(client),
    ...createAuditStore(client, db.maxParams),
    region,
    kind: db.kind,

    insertEvents: async (rows) => (await db.writeEvents(rows)).inserted.length,

    writeEvents: db.writeEvents,

    insertRefusals: (rows) => insertRefusals(db, rows, true),

    async listRefusals({ limit, before, deviceId }: QuarantinePage): Promise<QuarantineEntry[]> {
      const rows = await client.refusal.findMany({
        where: { ...(before === undefined ? {} : { id: { lt: before } }), ...(deviceId === undefined ? {} : { deviceId }) },
        orderBy: { id: 'desc' },
        take: limit,
      });
      return rows.map(quarantineEntryOf);
    },

    async addDevice(deviceId: string, createdAt: Date): Promise<void> {
      // Idempotent, so a retried provisioning step does no harm.
      await client.$executeRaw(sql`INSERT INTO "Device" ("id", "createdAt") VALUES (${deviceId}, ${createdAt}) ON CONFLICT ("id") DO NOTHING`);
    },

    async addDevicesWithConsent(devices, consents): Promise<void> {
      const deviceRows = devices.map((d) => [d.deviceId, d.createdAt]);
      const statements = [
        ...multiRowInserts('Device', ['id', 'createdAt'], deviceRows, db.maxParams),
        ...multiRowInserts('ConsentRecord', CONSENT_COLUMNS, consents.map(consentTuple), db.maxParams),
      ];
      // Always one transaction, even for a single statement: all devices of the batch or none.
      if (statements.length > 0) await client.$transaction(statements.map((statement) => client.$executeRaw(statement)));
    },

    async appendConsent(row: ConsentRow): Promise<void> {
      const { usage, location, payment, diagnostics } = row.categories;
      const inserted = await client.$executeRaw(
        sql`INSERT INTO "ConsentRecord" ("deviceId", "version", "issuedAt", "usage", "location", "payment", "diagnostics", "actor", "channel")
            VALUES (${row.deviceId}, ${row.version}, ${row.issuedAt}, ${usage}, ${location}, ${payment}, ${diagnostics}, ${row.actor}, ${row.channel})
            ON CONFLICT ("deviceId", "version") DO NOTHING`,
      );
      if (inserted === 0) throw new StoreConflictError(`consent version ${row.version} already exists for this device`);
    },

    async appendConsents(rows): Promise<void> {
      const statements = multiRowInserts('ConsentRecord', CONSENT_COLUMNS, rows.map(consentTuple), db.maxParams, '"deviceId", "version"');
      // Interactive, so a version already taken (another process's append) rolls back the whole batch.
      await client.$transaction(async (tx) => {
        let inserted = 0;
        for (const statement of statements) inserted += await tx.$executeRaw(statement);
        if (inserted < rows.length) throw new StoreConflictError('a consent version of the batch already exists');
      });
    },

    async consentHistory(deviceId: string): Promise<ConsentRow[]> {
      const records = await client.consentRecord.findMany({ where: { deviceId }, orderBy: { version: 'asc' } });
      return records.map(toConsentRow);
    },

    async consentHistories(deviceIds: readonly string[]): Promise<Map<string, ConsentRow[]>> {
      const ids = [...new Set(deviceIds)];
      if (ids.length === 0) return new Map();
      // One raw statement, as Directory.lookupMany: Prisma's query compiler plans each length of an
      // `IN` list anew, and ingest reads ledgers in batches of every length.
      const records = await client.$queryRaw<Parameters<typeof toConsentRow>[0][]>(
        sql`SELECT "deviceId", "version", "issuedAt", "usage", "location", "payment", "diagnostics", "actor", "channel"
            FROM "ConsentRecord" WHERE "deviceId" IN (${join(ids)}) ORDER BY "deviceId", "version"`,
      );
      const ledgers = new Map<string, ConsentRow[]>();
      for (const record of records) {
        const ledger = ledgers.get(record.deviceId);
        if (ledger) ledger.push(toConsentRow(record));
        else ledgers.set(record.deviceId, [toConsentRow(record)]);
      }
      return ledgers;
    },

    async listEvents(deviceId: string, query: EventQuery): Promise<EventRow[]> {
      const events = await client.event.findMany({
        where: { deviceId, ...(query.kind === undefined ? {} : { kind: query.kind }) },
        // Event ids are time-ordered, so they break ties between equal device timestamps.
        orderBy: [{ deviceTs: 'desc' }, { id: 'desc' }],
        take: query.limit,
      });
      return events.map(eventRowOf);
    },

    async counts(): Promise<{ stored: number; refused: number }> {
      const [stored, refused] = await Promise.all([client.event.count(), client.refusal.count()]);
      return { stored, refused };
    },

    async flushDeleted(): Promise<{ done: boolean }> {
      if (db.kind !== 'sqlite') return { done: true };
      for (let attempt = 0; attempt < WAL_TRUNCATE_ATTEMPTS; attempt++) {
        // TRUNCATE: the old page images in the WAL (an erased row as it was) go with the file's content.
        const [result] = await client.$queryRawUnsafe<{ busy: number | bigint }[]>('PRAGMA wal_checkpoint(TRUNCATE)');
        if (Number(result?.busy ?? 1) === 0) return { done: true };
        await new Promise((resolve) => setTimeout(resolve, WAL_TRUNCATE_RETRY_MS));
      }
      return { done: false };
    },

    async ping(): Promise<void> {
      await client.$queryRawUnsafe('SELECT 1');
    },

    close: () => client.$disconnect(),
  };
}
