import type { ConsentCategories } from '../../schema/consent.ts';
import type { EventKind } from '../../schema/events.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { RefusalExplanation } from '../../schema/refusal-explanation.ts';
import type { BrewStatistic } from '../../schema/transfers.ts';

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
  /** Why, as ingest found it: paths and fixed words, never a value; absent on rows from before explanations. */
  explanation?: RefusalExplanation | null;
}

/** A refused message in its sender's home-region quarantine: the payload as received, for operators. */
export interface QuarantinedRow extends RefusalRow {
  payload: Buffer | null;
}

/** A quarantined message as operators page through it: `id` orders the quarantine and is the paging cursor. */
export interface QuarantineEntry extends QuarantinedRow {
  id: number;
  explanation: RefusalExplanation | null;
}

export interface QuarantinePage {
  limit: number;
  /** Only entries older than this one (the last id of the previous page). */
  before?: number;
  /** Only this device's entries. */
  deviceId?: string;
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
  /** A keyed hash of the device secret (server/devices/credentials.ts); never the secret itself. */
  secretHash: string;
  createdAt: Date;
}

/**
 * An owner as their home region keeps them: the only row with a name and contact data, both sealed
 * under the owner's key (server/privacy/owner-seal.ts); the store never sees them in the clear.
 */
export interface OwnerRow {
  id: string;
  pseudonym: string;
  name: string;
  contact: string;
  createdAt: Date;
}

/** Who owned a device when: [startedAt, endedAt), endedAt null for the current period. */
export interface OwnershipPeriodRow {
  deviceId: string;
  /** Null once the owner was erased. */
  ownerPseudonym: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

/** Where a page of events, in (device time, id) order, left off. */
export interface EventCursor {
  deviceTs: Date;
  id: string;
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

export interface ErasureRequest {
  /** The devices that go: tombstoned, their device rows deleted. */
  deviceIds: readonly string[];
  ownerId?: string;
  ownerPseudonym: string | null;
  erasedAt: Date;
  cause: ErasureCause;
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

/**
 * The hash-chained audit log each database keeps (region stores and the directory alike), and the
 * checkpoints of other databases' chains it holds.
 */
export interface AuditStore {
  /** Appends at exactly `row.seq`; rejects with StoreConflictError when another writer took it. */
  appendAudit(row: AuditRow): Promise<void>;
  /** Appends consecutive rows in one transaction: all, or none with a StoreConflictError when another writer took a seq. */
  appendAudits(rows: readonly AuditRow[]): Promise<void>;
  lastAudit(): Promise<AuditRow | null>;
  auditAt(seq: number): Promise<AuditRow | null>;
  /** The first entry with this action (the keyed chain's marker), or null. */
  firstAuditOf(action: string): Promise<AuditRow | null>;
  /** The last signed head of another database's audit chain, as checkpointed in this one. */
  readAuditCheckpoint(store: string): Promise<AuditCheckpointRow | null>;
  /** Records a newer head; an older seq than the one held is ignored, so the checkpoint never goes back. */
  writeAuditCheckpoint(row: AuditCheckpointRow): Promise<void>;
  /** In seq order, from `afterSeq` on; optionally only entries about these targets, optionally the newest `limit` of them. */
  auditEntries(query: { afterSeq: number; limit: number; targets?: readonly string[]; newest?: boolean }): Promise<AuditRow[]>;
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
  /** Owner rows by id, after `afterId`, at most `limit`. */
  listOwners(page: { limit: number; afterId?: string }): Promise<OwnerRow[]>;
  /** Owner rows whose name is not sealed yet (stores from before sealing), to seal them. */
  ownersNotSealed(sealedPrefix: string): Promise<OwnerRow[]>;
  updateOwnerFields(id: string, fields: { name: string; contact: string }): Promise<void>;
  /**
   * Makes a device of this region the owner's from `at` on, starting a new ownership period (the
   * previous owner's ends there); false when the device is not in this store.
   */
  attachDevice(deviceId: string, ownerPseudonym: string, at: Date): Promise<boolean>;
  /**
   * Batch owner creation: the owner rows and each one's devices attached from `at` on (ownership
   * periods as attachDevice starts them), all in one transaction. Resolves with the listed devices
   * this store does not hold; when there are any, nothing is written.
   */
  createOwnersWithDevices(owners: readonly { row: OwnerRow; deviceIds: readonly string[] }[], at: Date): Promise<string[]>;
  getDevice(deviceId: string): Promise<DeviceRow | null>;
  /** The devices the owner has now. */
  devicesOf(ownerPseudonym: string): Promise<DeviceRow[]>;
  /** Every ownership period of the owner, current and past, by device and start. */
  periodsOf(ownerPseudonym: string): Promise<OwnershipPeriodRow[]>;
  /** A page of the events whose device time falls in the period, oldest first, after `after`. */
  eventsInPeriod(period: OwnershipPeriodRow, after: EventCursor | null, limit: number): Promise<EventRow[]>;
  /** A page of the device's quarantine rows that arrived within the period, by id, after `afterId`. */
  refusalsInPeriod(period: OwnershipPeriodRow, afterId: number, limit: number): Promise<QuarantineEntry[]>;
  /**
   * In one transaction: device deletion deletes the devices' events, consent ledgers, quarantined
   * refusals and ownership periods; an owner's erasure deletes what fell in the owner's periods (see
   * server/store/erase-rows.ts). Either deletes the device rows (and the owner row, when given) and
   * leaves a tombstone per device.
   */
  erase(request: ErasureRequest): Promise<ErasureCounts>;
  tombstoned(): Promise<string[]>;
  /**
   * Devices whose ledger got a version (with the newest one), or that were tombstoned, at or after
   * `since` (other processes' changes, and this one's).
   */
  changedSince(since: Date): Promise<{ consent: Array<{ deviceId: string; version: number }>; tombstoned: string[] }>;
  /** Deletes events of the cut's kinds older than its cut-off (by device time or arrival, whichever is older). */
  sweepEvents(cut: RetentionCut): Promise<number>;
  sweepRefusals(before: Date): Promise<number>;
  countEventsOlder(cut: RetentionCut): Promise<number>;
  countRefusalsOlder(before: Date): Promise<number>;
  facts(): Promise<RegionFacts>;
  /** Brews per recipe and UTC day: the `brew-statistics` aggregate a transfer rule may let out. */
  brewStatistics(): Promise<BrewStatistic[]>;
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
  /**
   * Batch provisioning: new devices and the first version of each one's ledger, all in one
   * transaction (the ids are freshly minted, so nothing conflicts; a conflict rejects the whole batch).
   */
  addDevicesWithConsent(devices: readonly { deviceId: string; createdAt: Date }[], consents: readonly ConsentRow[]): Promise<void>;
  /** Appends to the ledger; rejects with a StoreConflictError when the version is not new. */
  appendConsent(row: ConsentRow): Promise<void>;
  /** Appends to the ledgers of several devices in one transaction; a version not new rejects them all (StoreConflictError). */
  appendConsents(rows: readonly ConsentRow[]): Promise<void>;
  /** The whole ledger of one device, oldest version first. */
  consentHistory(deviceId: string): Promise<ConsentRow[]>;
  /** The whole ledgers of several devices in one query, each oldest version first; a device with none is left out. */
  consentHistories(deviceIds: readonly string[]): Promise<Map<string, ConsentRow[]>>;
  /** Newest first. */
  listEvents(deviceId: string, query: EventQuery): Promise<EventRow[]>;
  counts(): Promise<{ stored: number; refused: number }>;
  /**
   * After an erasure: moves what the deletions overwrote out of side files (SQLite: the WAL is
   * checkpointed and truncated; the deleted content itself was zeroed by secure_delete). PostgreSQL
   * has nothing to do here (see docs/security.md). `done` is false when readers kept the WAL busy.
   */
  flushDeleted(): Promise<{ done: boolean }>;
  /** Rejects when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The global directory: only what routing needs (device id -> region), nothing personal. */
export interface Directory extends AuditStore {
  register(entry: DirectoryEntry): Promise<void>;
  /** Registers freshly minted devices in one transaction; rejects (and registers none) if any is already there. */
  registerMany(entries: readonly DirectoryEntry[]): Promise<void>;
  lookup(deviceId: string): Promise<DirectoryEntry | null>;
  /** The entries of those ids that exist, in one read (the broker's batch login check). */
  lookupMany(deviceIds: readonly string[]): Promise<Map<string, DirectoryEntry>>;
  list(): Promise<DirectoryEntry[]>;
  /** Erasure: the entry keeps routing (so late events are refused in the home region) but no secret verifies any more. */
  revoke(deviceId: string): Promise<void>;
  /**
   * Swaps a device's stored hash for `to` only while it is still `from` (a legacy hash rewritten after a
   * good login), so a revocation that committed in between is never undone. True when it swapped.
   */
  replaceSecretHash(deviceId: string, from: string, to: string): Promise<boolean>;
  /** Refusals that belong to no region (unknown device, topic outside the grammar). */
  insertRefusals(rows: readonly RefusalRow[]): Promise<void>;
  countRefusals(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A chain head as checkpointed outside its store; `mac` signs the other fields with the audit key. */
export interface AuditCheckpointRow {
  store: string;
  seq: number;
  hash: string;
  keyedFrom: number;
  at: Date;
  mac: string;
}

export interface Stores {
  directory: Directory;
  regions: ReadonlyMap<RegionId, RegionStore>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
}
