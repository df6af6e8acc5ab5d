import { sqltag as sql } from '@prisma/client/runtime/client';
import { createAuditCheckpointStore } from './audit-checkpoint-store.ts';
import type { StoreClient } from './connect.ts';
import { type AuditRow, type AuditStore, StoreConflictError } from './types.ts';

/** The audit table of one database; chaining and verification live in server/privacy/audit-chain.ts. */
export function createAuditStore(client: StoreClient): AuditStore {
  return {
    ...createAuditCheckpointStore(client),

    async appendAudit(row: AuditRow): Promise<void> {
      const inserted = await client.$executeRaw(
        sql`INSERT INTO "AuditEntry" ("seq", "at", "actor", "action", "target", "detail", "prevHash", "hash")
            VALUES (${row.seq}, ${row.at}, ${row.actor}, ${row.action}, ${row.target}, ${row.detail}, ${row.prevHash}, ${row.hash})
            ON CONFLICT ("seq") DO NOTHING`,
      );
      if (inserted === 0) throw new StoreConflictError(`audit entry ${row.seq} already exists`);
    },

    lastAudit: () => client.auditEntry.findFirst({ orderBy: { seq: 'desc' } }),

    auditAt: (seq) => client.auditEntry.findUnique({ where: { seq } }),

    firstAuditOf: (action) => client.auditEntry.findFirst({ where: { action }, orderBy: { seq: 'asc' } }),

    async auditEntries({ afterSeq, limit, targets, newest = false }) {
      const rows = await client.auditEntry.findMany({
        where: { seq: { gt: afterSeq }, ...(targets === undefined ? {} : { target: { in: [...targets] } }) },
        orderBy: { seq: newest ? 'desc' : 'asc' },
        take: limit,
      });
      return newest ? rows.reverse() : rows;
    },
  };
}
