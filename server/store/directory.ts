import { join, sqltag as sql } from '@prisma/client/runtime/client';
import { regionIdSchema } from '../../schema/regions.ts';
import { createAuditStore } from './audit-store.ts';
import type { StoreDb } from './connect.ts';
import { multiRowInserts } from './multi-row-insert.ts';
import { insertRefusals } from './refusal-insert.ts';
import { type Directory, type DirectoryEntry, StoreConflictError } from './types.ts';

/** A directory row as a raw query returns it: SQLite hands the date back as text or a number. */
interface RawDirectoryRow {
  deviceId: string;
  region: string;
  secretHash: string;
  createdAt: Date | string | number;
}

/** The global directory database: device id -> home region (and the secret's hash), plus unroutable refusals. */
export function createDirectory(db: StoreDb): Directory {
  const { client } = db;
  const toEntry = (e: DirectoryEntry): DirectoryEntry => ({ ...e, region: regionIdSchema.parse(e.region) });
  return {
    ...createAuditStore(client, db.maxParams),
    async register(entry: DirectoryEntry): Promise<void> {
      const inserted = await client.$executeRaw(
        sql`INSERT INTO "DirectoryEntry" ("deviceId", "region", "secretHash", "createdAt")
            VALUES (${entry.deviceId}, ${entry.region}, ${entry.secretHash}, ${entry.createdAt})
            ON CONFLICT ("deviceId") DO NOTHING`,
      );
      if (inserted === 0) throw new StoreConflictError('device is already registered');
    },

    async registerMany(entries: readonly DirectoryEntry[]): Promise<void> {
      const tuples = entries.map((e) => [e.deviceId, e.region, e.secretHash, e.createdAt]);
      const statements = multiRowInserts('DirectoryEntry', ['deviceId', 'region', 'secretHash', 'createdAt'], tuples, db.maxParams);
      if (statements.length > 0) await client.$transaction(statements.map((statement) => client.$executeRaw(statement)));
    },

    async lookup(deviceId: string): Promise<DirectoryEntry | null> {
      const entry = await client.directoryEntry.findUnique({ where: { deviceId } });
      return entry === null ? null : toEntry(entry);
    },

    // The broker's batch login check reads here once per request. One raw statement instead of
    // findMany: Prisma's query compiler planned each `IN` list anew (a new length is a new query),
    // ~0.7 ms of CPU per call, the largest part of a small batch's cost at the registry.
    async lookupMany(deviceIds: readonly string[]): Promise<Map<string, DirectoryEntry>> {
      const ids = [...new Set(deviceIds)];
      if (ids.length === 0) return new Map();
      const rows = await client.$queryRaw<RawDirectoryRow[]>(
        sql`SELECT "deviceId", "region", "secretHash", "createdAt" FROM "DirectoryEntry" WHERE "deviceId" IN (${join(ids)})`,
      );
      return new Map(rows.map((row) => [row.deviceId, toEntry({ ...row, createdAt: new Date(row.createdAt) } as DirectoryEntry)]));
    },

    async list(): Promise<DirectoryEntry[]> {
      const entries = await client.directoryEntry.findMany({ orderBy: [{ createdAt: 'asc' }, { deviceId: 'asc' }] });
      return entries.map(toEntry);
    },

    async revoke(deviceId: string): Promise<void> {
      // Not a hash of any form, so no secret ever verifies against it.
      await client.directoryEntry.updateMany({ where: { deviceId }, data: { secretHash: 'revoked' } });
    },

    async replaceSecretHash(deviceId: string, from: string, to: string): Promise<boolean> {
      const { count } = await client.directoryEntry.updateMany({ where: { deviceId, secretHash: from }, data: { secretHash: to } });
      return count === 1;
    },

    insertRefusals: (rows) => insertRefusals(db, rows, false),

    countRefusals: () => client.refusal.count(),

    async ping(): Promise<void> {
      await client.$queryRawUnsafe('SELECT 1');
    },

    close: () => client.$disconnect(),
  };
}
