import { sqltag as sql } from '@prisma/client/runtime/client';
import type { StoreClient } from './connect.ts';
import type { AuditCheckpointRow } from './types.ts';

/** The directory's copy of the region stores' audit chain heads (server/privacy/audit-checkpoints.ts signs them). */
export function createAuditCheckpointStore(client: StoreClient): {
  readAuditCheckpoint(store: string): Promise<AuditCheckpointRow | null>;
  writeAuditCheckpoint(row: AuditCheckpointRow): Promise<void>;
} {
  return {
    readAuditCheckpoint: (store) => client.auditCheckpoint.findUnique({ where: { store } }),

    async writeAuditCheckpoint(row) {
      // Forward only: a process that saw an older head (another server process appended meanwhile) never rolls it back.
      await client.$executeRaw(
        sql`INSERT INTO "AuditCheckpoint" ("store", "seq", "hash", "keyedFrom", "at", "mac")
            VALUES (${row.store}, ${row.seq}, ${row.hash}, ${row.keyedFrom}, ${row.at}, ${row.mac})
            ON CONFLICT ("store") DO UPDATE SET "seq" = excluded."seq", "hash" = excluded."hash",
              "keyedFrom" = excluded."keyedFrom", "at" = excluded."at", "mac" = excluded."mac"
            WHERE "AuditCheckpoint"."seq" < excluded."seq"`,
      );
    },
  };
}
