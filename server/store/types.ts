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

export interface EventQuery {
  kind?: EventKind;
  limit: number;
}

export interface RegionStore {
  readonly region: RegionId;
  readonly kind: StoreKind;
  /** Writes all rows in one transaction, idempotent by event id. Resolves with how many were new. */
  insertEvents(rows: readonly EventRow[]): Promise<number>;
  /** Quarantines refused messages; their payloads stay in this region's store only. */
  insertRefusals(rows: readonly QuarantinedRow[]): Promise<void>;
  /** The quarantine, newest first, for operators. */
  listRefusals(limit: number): Promise<QuarantinedRow[]>;
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
export interface Directory {
  register(entry: DirectoryEntry): Promise<void>;
  lookup(deviceId: string): Promise<DirectoryEntry | null>;
  list(): Promise<DirectoryEntry[]>;
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
