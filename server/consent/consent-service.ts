import type { Logger } from 'pino';
import type { ConsentCategories, ConsentRecord } from '../../schema/consent.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { ConsentRow, RegionStore } from '../store/types.ts';

/** Records ledger appends of one region in its audit log, in order (a batch as one write). */
export type ConsentAudit = (rows: readonly ConsentRow[], region: RegionId) => Promise<unknown>;
import { BatchLoader } from '../batch-loader.ts';
import { latest } from './decide.ts';
import { toConsentRecord, type ConsentPublisher } from './publisher.ts';
import { ReadOnceMap } from '../read-once-map.ts';

/** Ledgers not cached are read together per region (server/batch-loader.ts): a few reads out at once, each of up to this many devices. */
const LEDGER_READS = { maxInFlight: 4, batchMax: 500 };

export interface ConsentChange {
  deviceId: string;
  region: RegionId;
  categories: ConsentCategories;
  /** The token subject that made the change. */
  actor: string;
  channel: string;
}

/**
 * Each device's append-only ledger, cached in memory after the first read from its home-region store
 * and updated on every append made here. Appends per device are serialised so versions never race
 * inside one process; the store's unique version rejects a race between processes.
 */
export class ConsentService {
  /** Each device's ledger, read from its home-region store once (cachedLedger() answers without a promise). */
  readonly #ledgers = new ReadOnceMap<string, ConsentRow[]>();
  readonly #appendChains = new Map<string, Promise<unknown>>();
  /** The newest version each cached ledger holds, known without awaiting it (forgetOlderThan). */
  readonly #held = new Map<string, number>();
  readonly #ledgerReads = new Map<RegionId, BatchLoader<string, ConsentRow[]>>();

  constructor(
    private readonly regions: ReadonlyMap<RegionId, RegionStore>,
    private readonly publisher: ConsentPublisher,
    private readonly publishTimeoutMs: number,
    private readonly logger: Logger,
    private readonly audit: ConsentAudit = async () => undefined,
  ) {}

  ledger(deviceId: string, region: RegionId): Promise<readonly ConsentRow[]> {
    return this.#ledgers.get(
      deviceId,
      () =>
        this.#ledgerReadsOf(region)
          .load(deviceId)
          .then((rows) => rows ?? []),
      (rows) => this.#hold(deviceId, rows),
    );
  }

  /** The ledger when memory holds it, without a promise (ingest asks for every event); undefined means ask ledger(). */
  cachedLedger(deviceId: string): readonly ConsentRow[] | undefined {
    return this.#ledgers.cached(deviceId);
  }

  async current(deviceId: string, region: RegionId): Promise<ConsentRow | null> {
    return latest(await this.ledger(deviceId, region));
  }

  /** Appends the next version, then pushes it to the device (retained). Resolves with the new record. */
  change(change: ConsentChange): Promise<ConsentRecord> {
    const previous = this.#appendChains.get(change.deviceId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#append(change));
    this.#appendChains.set(change.deviceId, next);
    void next
      .finally(() => {
        if (this.#appendChains.get(change.deviceId) === next) this.#appendChains.delete(change.deviceId);
      })
      .catch(() => undefined);
    return next.then(async (row) => {
      const record = toConsentRecord(row);
      await this.#publish(record);
      return record;
    });
  }

  /**
   * change() for many devices of one region (each listed once), written in one transaction: it waits
   * for appends under way to any of them and holds their later ones until it is done. Resolves with
   * the new records in the order of `changes`.
   */
  changeMany(region: RegionId, changes: readonly ConsentChange[]): Promise<ConsentRecord[]> {
    const ids = changes.map((change) => change.deviceId);
    const previous = Promise.allSettled(ids.map((id) => this.#appendChains.get(id)));
    const next = previous.then(() => this.#appendMany(region, changes));
    for (const id of ids) this.#appendChains.set(id, next);
    void next
      .finally(() => {
        for (const id of ids) if (this.#appendChains.get(id) === next) this.#appendChains.delete(id);
      })
      .catch(() => undefined);
    return next.then(async (rows) => {
      const records = rows.map(toConsentRecord);
      await Promise.all(records.map((record) => this.#publish(record)));
      return records;
    });
  }

  /**
   * Batch provisioning wrote these first versions itself (in the region's transaction): cache them,
   * audit them and push them to their devices, as change() does for one.
   */
  async provisioned(rows: readonly ConsentRow[], region: RegionId): Promise<ConsentRecord[]> {
    for (const row of rows) this.#cache(row.deviceId, [row]);
    // One audit write for the batch: one per device took two statements each, and provisioning
    // 10,000 devices spent most of its time there.
    await this.#audited(rows, region, 'a provisioning batch');
    const records = rows.map(toConsentRecord);
    await Promise.all(records.map((record) => this.#publish(record)));
    return records;
  }

  /** Pushes the device's current record again (retained). Resolves false when it has none. */
  async republish(deviceId: string, region: RegionId): Promise<boolean> {
    const row = await this.current(deviceId, region);
    if (!row) return false;
    await this.#publish(toConsentRecord(row));
    return true;
  }

  /** Drops a device from the cache (erasure, or a change made by another process). */
  forget(deviceId: string): void {
    this.#ledgers.delete(deviceId);
    this.#held.delete(deviceId);
  }

  /**
   * A store holds `version` for the device: the cache is dropped unless it holds that version
   * already. The poll for other processes' changes (peer-changes.ts) sees this process's own
   * appends too, and forgetting those made every provisioned device's ledger be read again.
   */
  forgetOlderThan(deviceId: string, version: number): void {
    if ((this.#held.get(deviceId) ?? 0) < version) this.forget(deviceId);
  }

  #ledgerReadsOf(region: RegionId): BatchLoader<string, ConsentRow[]> {
    let reads = this.#ledgerReads.get(region);
    if (!reads) {
      const store = this.#store(region);
      reads = new BatchLoader((deviceIds) => store.consentHistories(deviceIds), LEDGER_READS);
      this.#ledgerReads.set(region, reads);
    }
    return reads;
  }

  #hold(deviceId: string, rows: readonly ConsentRow[]): void {
    const version = latest(rows)?.version;
    if (version === undefined) this.#held.delete(deviceId);
    else this.#held.set(deviceId, version);
  }

  /** A ledger this process wrote (or read) whole: cached, and its newest version known at once. */
  #cache(deviceId: string, ledger: ConsentRow[]): void {
    this.#ledgers.set(deviceId, ledger);
    this.#hold(deviceId, ledger);
  }

  /**
   * Audits rows already written and cached (so ingest enforces them even while the audit store is
   * slow). The changes have happened: a failing audit store is reported loudly but undoes nothing.
   */
  async #audited(rows: readonly ConsentRow[], region: RegionId, of: 'one change' | 'a batch' | 'a provisioning batch'): Promise<void> {
    try {
      await this.audit(rows, region);
    } catch (err) {
      if (of === 'one change') this.logger.error({ err, deviceId: rows[0]!.deviceId, version: rows[0]!.version }, 'consent change not audited');
      else this.logger.error({ err, devices: rows.length }, `consent changes of ${of} not audited`);
    }
  }

  async #append(change: ConsentChange): Promise<ConsentRow> {
    const ledger = await this.ledger(change.deviceId, change.region);
    const row = nextVersion(change, ledger, new Date());
    try {
      await this.#store(change.region).appendConsent(row);
    } catch (err) {
      this.forget(change.deviceId);
      throw err;
    }
    this.#cache(change.deviceId, [...ledger, row]);
    await this.#audited([row], change.region, 'one change');
    return row;
  }

  /** The batch's versions in one transaction of the region's store, then cached and audited (one write) as #append does. */
  async #appendMany(region: RegionId, changes: readonly ConsentChange[]): Promise<ConsentRow[]> {
    const ledgers = await Promise.all(changes.map((change) => this.ledger(change.deviceId, region)));
    const issuedAt = new Date();
    const rows = changes.map((change, i) => nextVersion(change, ledgers[i]!, issuedAt));
    try {
      await this.#store(region).appendConsents(rows);
    } catch (err) {
      for (const change of changes) this.forget(change.deviceId);
      throw err;
    }
    rows.forEach((row, i) => {
      this.#cache(row.deviceId, [...ledgers[i]!, row]);
    });
    await this.#audited(rows, region, 'a batch');
    return rows;
  }

  /**
   * Bounded wait: the record is in the ledger and mqtt.js keeps retrying the publish, so a slow
   * broker delays the device's copy but must not fail the owner's request.
   */
  async #publish(record: ConsentRecord): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.publishTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.publisher.publish(record).then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout') this.logger.warn({ deviceId: record.deviceId, version: record.version }, 'consent publish not yet acknowledged');
    } catch (err) {
      this.logger.error({ err, deviceId: record.deviceId, version: record.version }, 'consent publish failed');
    } finally {
      clearTimeout(timer);
    }
  }

  #store(region: RegionId): RegionStore {
    const store = this.regions.get(region);
    if (!store) throw new Error(`no store for region ${region}`);
    return store;
  }
}

/** The version after `ledger`'s newest: what `change` asks for, issued at `issuedAt`. */
function nextVersion(change: ConsentChange, ledger: readonly ConsentRow[], issuedAt: Date): ConsentRow {
  return {
    deviceId: change.deviceId,
    version: (latest(ledger)?.version ?? 0) + 1,
    issuedAt,
    categories: { ...change.categories },
    actor: change.actor,
    channel: change.channel,
  };
}
