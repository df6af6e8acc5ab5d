import { createHash } from 'node:crypto';
import type { AuditRecord, AuditRow } from '../store/types.ts';

/** The link before the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Fixed field order and ISO time: the same entry always hashes the same on every engine. */
export function canonicalEntry(seq: number, record: AuditRecord): string {
  return JSON.stringify([seq, record.at.toISOString(), record.actor, record.action, record.target, record.detail]);
}

export function entryHash(prevHash: string, seq: number, record: AuditRecord): string {
  return createHash('sha256').update(prevHash).update(canonicalEntry(seq, record)).digest('hex');
}

/** The next entry after `last` (null for the first). */
export function chainEntry(last: AuditRow | null, record: AuditRecord): AuditRow {
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  return { ...record, seq, prevHash, hash: entryHash(prevHash, seq, record) };
}

/** Walks a chain page by page; feed it rows in seq order. */
export class ChainVerifier {
  #prev: AuditRow | null = null;
  #count = 0;
  #brokenAt: number | null = null;

  feed(row: AuditRow): void {
    this.#count++;
    if (this.#brokenAt !== null) return;
    const expectedSeq = (this.#prev?.seq ?? 0) + 1;
    const expectedPrev = this.#prev?.hash ?? GENESIS_HASH;
    if (row.seq !== expectedSeq || row.prevHash !== expectedPrev || row.hash !== entryHash(row.prevHash, row.seq, row)) this.#brokenAt = row.seq;
    this.#prev = row;
  }

  result(): { status: 'ok' | 'broken'; entries: number; brokenAt: number | null } {
    return { status: this.#brokenAt === null ? 'ok' : 'broken', entries: this.#count, brokenAt: this.#brokenAt };
  }
}
