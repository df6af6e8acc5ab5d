import type { ConsentCategories } from '../../schema/consent.ts';
import type { EventKind } from '../../schema/events.ts';
import type { RegionId } from '../../schema/regions.ts';

/**
 * The storage seam of the server. Ingest, the HTTP routes and the consent service see only these
 * interfaces; whether a region lives in SQLite or PostgreSQL is a matter of its URL.
 */

export type StoreKind = 'sqlite' | 'postgres';

/** One accepted event, already minimised; `body` is the JSON text of the event body as stored. */
export interface EventRow {
  id: string;
  deviceId: string;
  kind: EventKind;
  seq: number;
  deviceTs: Date;
  receivedAt: Date;
  /** The server-side consent version the ingest decision was made under. */
  consentVersion: number;
  body: string;
}

/** What one batch write did: rows not listed were stored already (a redelivery of the same device's event id). */
export interface EventWriteResult {
  /** Stored by this write: the only rows the live feed and the stored counts may report. */
  inserted: readonly EventRow[];
  /** Not stored because their device has a tombstone (checked inside the write's transaction). */
  erased: readonly EventRow[];
}

/** A refused message as the directory keeps it: never its payload. */
export interface RefusalRow {
  receivedAt: Date;
  reason: string;
  deviceId: string | null;
  eventId: string | null;
  kind: string | null;
}

/** A refused message in its sender's home-region quarantine: the payload as received, for operators. */
export interface QuarantinedRow extends RefusalRow {
  payload: Buffer | null;
}

/** A quarantined message as operators page through it: `id` orders the quarantine and is the paging cursor. */
export interface QuarantineEntry extends QuarantinedRow {
  id: number;
}

export interface QuarantinePage {
  limit: number;
  /** Only entries older than this one (the last id of the previous page). */
  before?: number;
}

export interface ConsentRow {
  deviceId: string;
  version: number;
  issuedAt: Date;
  categories: ConsentCategories;
  /** Who made the change (a token's subject) and through which channel (api, provisioning, ...). */
  actor: string;
  channel: string;
}

export interface DirectoryEntry {
  deviceId: string;
  region: RegionId;
  /** A slow hash of the device secret; never the secret itself. */
  secretHash: string;
  createdAt: Date;
}

/** An owner as their home region keeps them: the only row with a name and contact data. */
export interface OwnerRow {
  id: string;
  pseudonym: string;
  name: string;
  contact: string;
  createdAt: Date;
}

export interface DeviceRow {
  id: string;
  createdAt: Date;
  ownerPseudonym: string | null;
}

export type ErasureCause = 'owner_erasure' | 'device_deletion';

/** What one erasure removed, per table (counts only: the report and the audit entry carry these). */
export interface ErasureCounts {
  owners: number;
  devices: number;
  events: number;
  consentRecords: number;
  refusals: number;
}

/** One audit entry before it is chained. */
export interface AuditRecord {
  at: Date;
  actor: string;
  action: string;
  target: string;
  /** JSON text; no personal data. */
  detail: string;
}

export interface AuditRow extends AuditRecord {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The hash-chained audit log each database keeps (region stores and the directory alike). */
export interface AuditStore {
  /** Appends at exactly `row.seq`; rejects with StoreConflictError when another writer took it. */
  appendAudit(row: AuditRow): Promise<void>;
  lastAudit(): Promise<AuditRow | null>;
  /** In seq order, from `afterSeq` on; optionally only entries about these targets. */
  auditEntries(query: { afterSeq: number; limit: number; targets?: readonly string[] }): Promise<AuditRow[]>;
}

/** Event kinds grouped into one retention category, with the cut-off: rows older than it go. */
export interface RetentionCut {
  kinds: readonly EventKind[];
  before: Date;
}

/** The region-store facts the compliance report is made of. */
export interface RegionFacts {
  devices: number;
  owners: number;
  tombstones: number;
  eventsByKind: Record<string, number>;
  refusedByReason: Record<string, number>;
  /** Events per device id, to compare against the directory (residency). */
  eventsByDevice: Record<string, number>;
  /** Events whose recorded consent version does not allow their kind (or has no ledger row). */
  unconsentedRows: number;
}

/** Owners, tombstones, erasure, retention and the report's counts: the privacy operations of a region. */
export interface PrivacyStore {
  createOwner(row: OwnerRow): Promise<void>;
  getOwner(id: string): Promise<OwnerRow | null>;
  /** Links a device of this region to an owner; false when the device is not in this store. */
  attachDevice(deviceId: string, ownerPseudonym: string): Promise<boolean>;
  getDevice(deviceId: string): Promise<DeviceRow | null>;
  devicesOf(ownerPseudonym: string): Promise<DeviceRow[]>;
  /** Every stored event of a device, oldest first (export). */
  allEvents(deviceId: string): Promise<EventRow[]>;
  /**
   * In one transaction: deletes the devices' events, consent ledgers, quarantined refusals and device
   * rows (and the owner row, when given), and leaves a tombstone per device.
   */
  erase(request: { deviceIds: readonly string[]; ownerId?: string; ownerPseudonym: string | null; erasedAt: Date; cause: ErasureCause }): Promise<ErasureCounts>;
  tombstoned(): Promise<string[]>;
  /** Devices whose ledger got a version, or that were tombstoned, at or after `since` (other processes' changes). */
  changedSince(since: Date): Promise<{ consent: string[]; tombstoned: string[] }>;
  /** Deletes events of the cut's kinds older than its cut-off (by device time or arrival, whichever is older). */
  sweepEvents(cut: RetentionCut): Promise<number>;
  sweepRefusals(before: Date): Promise<number>;
  countEventsOlder(cut: RetentionCut): Promise<number>;
  countRefusalsOlder(before: Date): Promise<number>;
  facts(): Promise<RegionFacts>;
}

export interface EventQuery {
  kind?: EventKind;
  limit: number;
}

export interface RegionStore extends PrivacyStore, AuditStore {
  readonly region: RegionId;
  readonly kind: StoreKind;
  /** Writes all rows in one transaction, idempotent by (device id, event id). Resolves with how many were new. */
  insertEvents(rows: readonly EventRow[]): Promise<number>;
  /** The same write, telling which rows were new and which were skipped for their device's tombstone. */
  writeEvents(rows: readonly EventRow[]): Promise<EventWriteResult>;
  /** Quarantines refused messages; their payloads stay in this region's store only. */
  insertRefusals(rows: readonly QuarantinedRow[]): Promise<void>;
  /** The quarantine, newest first, a page at a time, for operators. */
  listRefusals(page: QuarantinePage): Promise<QuarantineEntry[]>;
  addDevice(deviceId: string, createdAt: Date): Promise<void>;
  /** Appends to the ledger; rejects with a StoreConflictError when the version is not new. */
  appendConsent(row: ConsentRow): Promise<void>;
  /** The whole ledger of one device, oldest version first. */
  consentHistory(deviceId: string): Promise<ConsentRow[]>;
  /** Newest first. */
  listEvents(deviceId: string, query: EventQuery): Promise<EventRow[]>;
  counts(): Promise<{ stored: number; refused: number }>;
  /** Rejects when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The global directory: only what routing needs (device id -> region), nothing personal. */
export interface Directory extends AuditStore {
  register(entry: DirectoryEntry): Promise<void>;
  lookup(deviceId: string): Promise<DirectoryEntry | null>;
  list(): Promise<DirectoryEntry[]>;
  /** Erasure: the entry keeps routing (so late events are refused in the home region) but no secret verifies any more. */
  revoke(deviceId: string): Promise<void>;
  /** Refusals that belong to no region (unknown device, topic outside the grammar). */
  insertRefusals(rows: readonly RefusalRow[]): Promise<void>;
  countRefusals(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Stores {
  directory: Directory;
  regions: ReadonlyMap<RegionId, RegionStore>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
}
