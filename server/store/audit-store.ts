import { sqltag as sql } from '@prisma/client/runtime/client';
import { createAuditCheckpointStore } from './audit-checkpoint-store.ts';
import type { StoreClient } from './connect.ts';
import { multiRowInserts } from './multi-row-insert.ts';
import { type AuditRow, type AuditStore, StoreConflictError } from './types.ts';

/** The audit table of one database; chaining and verification live in server/privacy/audit-chain.ts. */
export function createAuditStore(client: StoreClient, maxParams: number): AuditStore {
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

    async appendAudits(rows: readonly AuditRow[]): Promise<void> {
      const tuples = rows.map((row) => [row.seq, row.at, row.actor, row.action, row.target, row.detail, row.prevHash, row.hash]);
      const statements = multiRowInserts('AuditEntry', ['seq', 'at', 'actor', 'action', 'target', 'detail', 'prevHash', 'hash'], tuples, maxParams, '"seq"');
      // Interactive, so that a seq another writer took rolls back the rows inserted before it.
      await client.$transaction(async (tx) => {
        let inserted = 0;
        for (const statement of statements) inserted += await tx.$executeRaw(statement);
        if (inserted < rows.length) throw new StoreConflictError(`audit entries ${rows[0]?.seq}…${rows.at(-1)?.seq} overlap existing ones`);
      });
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
