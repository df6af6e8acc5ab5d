import { createHash, createHmac } from 'node:crypto';
import type { AuditRecord, AuditRow } from '../store/types.ts';

/** The link before the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The entry that starts a chain's keyed part. Every entry from it on is linked with an HMAC under the
 * chain's key; entries before it (stores written before chains were keyed) are legacy sha256 links,
 * and since the marker's HMAC covers the last legacy hash, none of them can change unnoticed either.
 */
export const KEYED_MARKER = 'audit.keyed';

/** Fixed field order and ISO time: the same entry always hashes the same on every engine. */
export function canonicalEntry(seq: number, record: AuditRecord): string {
  return JSON.stringify([seq, record.at.toISOString(), record.actor, record.action, record.target, record.detail]);
}

/** The link of a legacy entry: plain sha256, which anyone with write access to the store can recompute. */
export function legacyHash(prevHash: string, seq: number, record: AuditRecord): string {
  return createHash('sha256').update(prevHash).update(canonicalEntry(seq, record)).digest('hex');
}

/** The link of a keyed entry: only a holder of the chain key can make one. */
export function keyedHash(chainKey: Buffer, prevHash: string, seq: number, record: AuditRecord): string {
  return createHmac('sha256', chainKey).update(prevHash).update(canonicalEntry(seq, record)).digest('hex');
}

/** The next entry after `last` (null for the first): always a keyed link. */
export function chainEntry(chainKey: Buffer, last: AuditRow | null, record: AuditRecord): AuditRow {
  const seq = (last?.seq ?? 0) + 1;
  const prevHash = last?.hash ?? GENESIS_HASH;
  return { ...record, seq, prevHash, hash: keyedHash(chainKey, prevHash, seq, record) };
}

/** Why a chain does not verify. */
export type ChainBreak = 'edited' | 'unkeyed' | 'truncated' | 'rewritten' | 'checkpoint_forged' | 'checkpoint_missing';

export interface ChainWalk {
  entries: number;
  brokenAt: number | null;
  reason: ChainBreak | null;
  /** Seq of the keyed marker; null when the chain has none. */
  keyedFrom: number | null;
  /** The last entry seen. */
  last: { seq: number; hash: string } | null;
}

/** Walks a chain page by page; feed it rows in seq order. */
export class ChainVerifier {
  #prev: AuditRow | null = null;
  #count = 0;
  #brokenAt: number | null = null;
  #keyedFrom: number | null = null;

  constructor(private readonly chainKey: Buffer) {}

  feed(row: AuditRow): void {
    this.#count++;
    if (this.#brokenAt !== null) return;
    const expectedSeq = (this.#prev?.seq ?? 0) + 1;
    const expectedPrev = this.#prev?.hash ?? GENESIS_HASH;
    const keyed = this.#keyedFrom !== null || row.action === KEYED_MARKER;
    const expected = keyed ? keyedHash(this.chainKey, row.prevHash, row.seq, row) : legacyHash(row.prevHash, row.seq, row);
    if (row.seq !== expectedSeq || row.prevHash !== expectedPrev || row.hash !== expected) this.#brokenAt = row.seq;
    else if (keyed && this.#keyedFrom === null) this.#keyedFrom = row.seq;
    this.#prev = row;
  }

  result(): ChainWalk {
    const last = this.#prev && { seq: this.#prev.seq, hash: this.#prev.hash };
    if (this.#brokenAt !== null) return { entries: this.#count, brokenAt: this.#brokenAt, reason: 'edited', keyedFrom: this.#keyedFrom, last };
    // Links that all verify as sha256 and no keyed marker: recomputed by someone without the key.
    if (this.#count > 0 && this.#keyedFrom === null) return { entries: this.#count, brokenAt: 1, reason: 'unkeyed', keyedFrom: null, last };
    return { entries: this.#count, brokenAt: null, reason: null, keyedFrom: this.#keyedFrom, last };
  }
}
