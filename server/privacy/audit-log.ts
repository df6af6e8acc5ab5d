import type { Logger } from 'pino';
import type { AuditChainStatus } from '../../schema/privacy.ts';
import { type AuditRow, type AuditStore, StoreConflictError } from '../store/types.ts';
import { ChainVerifier, type ChainWalk, chainEntry, KEYED_MARKER } from './audit-chain.ts';
import { Checkpointer, type CheckpointSink } from './audit-checkpoints.ts';
import { derivedKey } from './audit-key.ts';

/** What an audited action says about itself; detail holds counts and versions, never personal data. */
export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditLogOptions {
  /** The audit key (server/privacy/audit-key.ts); this chain's link and checkpoint keys derive from it. */
  key: Buffer;
  /** Where this chain's head is checkpointed: never the store the chain is in. */
  sinks: readonly CheckpointSink[];
}

const CONFLICT_RETRIES = 20;
const PAGE = 1_000;
const noop = (): void => undefined;

/**
 * Appends to one store's keyed chain and checkpoints its head outside the store. Appends are
 * serialised in this process; another process taking the same seq makes the insert fail, and the
 * entry is chained again on the new end.
 *
 * Before the first entry this process appends or reads, the chain gets its keyed marker if it has
 * none (a new store, or one written before chains were keyed); a chain whose checkpoint says it was
 * keyed never gets a new marker, so one stripped of its keyed part stays broken.
 */
export class AuditLog {
  #tail: Promise<unknown> = Promise.resolve();
  #keyedFrom: number | null = null;
  readonly #chainKey: Buffer;
  readonly #checkpoints: Checkpointer;

  constructor(
    readonly name: string,
    private readonly store: AuditStore,
    private readonly logger: Logger,
    options: AuditLogOptions,
  ) {
    this.#chainKey = derivedKey(options.key, 'chain', name);
    this.#checkpoints = new Checkpointer(name, derivedKey(options.key, 'checkpoint', name), options.sinks, store, logger);
  }

  append(event: AuditEvent): Promise<AuditRow> {
    const next = this.#tail.catch(noop).then(async () => {
      await this.#keyed();
      return this.#append(event);
    });
    this.#tail = next;
    return next;
  }

  /**
   * Many entries, chained in order and written in one transaction: a batch operation's entries, the
   * same ones its single calls append one by one (2,000 of those took about 3 s, this well under 1 s).
   */
  appendMany(events: readonly AuditEvent[]): Promise<AuditRow[]> {
    const next = this.#tail.catch(noop).then(async () => {
      await this.#keyed();
      return this.#appendMany(events);
    });
    this.#tail = next;
    return next;
  }

  /** For actions already done (a login seen): a failure is logged, never thrown at the caller. */
  record(event: AuditEvent): void {
    this.append(event).catch((err: unknown) => this.logger.error({ err, store: this.name, action: event.action }, 'audit append failed'));
  }

  async #keyed(): Promise<void> {
    if (this.#keyedFrom !== null) return;
    const marker = await this.store.firstAuditOf(KEYED_MARKER);
    if (marker) {
      this.#keyedFrom = marker.seq;
      return;
    }
    const held = (await this.#checkpoints.readAll()).find((cp) => cp !== null && this.#checkpoints.verifies(cp));
    if (held) {
      this.logger.error({ store: this.name, keyedFrom: held.keyedFrom }, 'the audit chain lost its keyed marker; verification reports it broken');
      this.#keyedFrom = held.keyedFrom;
      return;
    }
    const last = await this.store.lastAudit();
    await this.#append({ actor: 'system', action: KEYED_MARKER, target: this.name, detail: { legacyEntries: last?.seq ?? 0 } });
    // Another process may have put its marker first; the first one is where the keyed part starts.
    this.#keyedFrom = (await this.store.firstAuditOf(KEYED_MARKER))?.seq ?? null;
    const head = await this.store.lastAudit();
    if (head && this.#keyedFrom !== null) this.#checkpoints.request({ store: this.name, seq: head.seq, hash: head.hash, keyedFrom: this.#keyedFrom });
  }

  async #append(event: AuditEvent): Promise<AuditRow> {
    const [row] = await this.#chained([event], ([only]) => this.store.appendAudit(only!));
    return row!;
  }

  #appendMany(events: readonly AuditEvent[]): Promise<AuditRow[]> {
    return events.length === 0 ? Promise.resolve([]) : this.#chained(events, (rows) => this.store.appendAudits(rows));
  }

  /** Chains the events on the current end and writes them; chained again on the new end when another process took a seq. */
  async #chained(events: readonly AuditEvent[], write: (rows: readonly AuditRow[]) => Promise<void>): Promise<AuditRow[]> {
    const at = new Date();
    const records = events.map((event) => ({ at, actor: event.actor, action: event.action, target: event.target, detail: JSON.stringify(event.detail ?? {}) }));
    for (let attempt = 0; ; attempt++) {
      let last = await this.store.lastAudit();
      const rows = records.map((record) => (last = chainEntry(this.#chainKey, last, record)));
      try {
        await write(rows);
        if (this.#keyedFrom !== null && last) this.#checkpoints.request({ store: this.name, seq: last.seq, hash: last.hash, keyedFrom: this.#keyedFrom });
        return rows;
      } catch (err) {
        if (!(err instanceof StoreConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  /**
   * Reads first let the appends already queued here land (a login is recorded without being awaited),
   * so a reader sees every entry of the requests it made before; and the chain is keyed first.
   */
  #settled(): Promise<void> {
    const next = this.#tail.catch(noop).then(() => this.#keyed());
    this.#tail = next;
    return next;
  }

  async verify(): Promise<AuditChainStatus> {
    await this.#settled();
    await this.#checkpoints.idle();
    const verifier = new ChainVerifier(this.#chainKey);
    for (let afterSeq = 0; ; ) {
      const rows = await this.store.auditEntries({ afterSeq, limit: PAGE });
      for (const row of rows) verifier.feed(row);
      if (rows.length < PAGE) break;
      afterSeq = rows[rows.length - 1]!.seq;
    }
    return this.#againstCheckpoints(verifier.result());
  }

  /** A chain whose links verify can still be short of its checkpointed head, or not pass through it. */
  async #againstCheckpoints(walk: ChainWalk): Promise<AuditChainStatus> {
    const held = (await this.#checkpoints.readAll()).filter((cp) => cp !== null);
    const valid = held.filter((cp) => this.#checkpoints.verifies(cp));
    const checkpointSeq = valid.length === 0 ? null : Math.max(...valid.map((cp) => cp.seq));
    const status = (reason: ChainWalk['reason'], brokenAt: number | null): AuditChainStatus => ({
      store: this.name,
      status: reason === null ? 'ok' : 'broken',
      entries: walk.entries,
      brokenAt,
      reason,
      legacyEntries: walk.keyedFrom === null ? walk.entries : walk.keyedFrom - 1,
      checkpointSeq,
    });
    if (walk.reason !== null) return status(walk.reason, walk.brokenAt);
    if (valid.length < held.length) return status('checkpoint_forged', null);
    if (walk.entries > 0 && valid.length === 0) return status('checkpoint_missing', null);
    const lastSeq = walk.last?.seq ?? 0;
    if (checkpointSeq !== null && lastSeq < checkpointSeq) return status('truncated', lastSeq + 1);
    for (const cp of valid) {
      if (cp.keyedFrom !== walk.keyedFrom || (await this.store.auditAt(cp.seq))?.hash !== cp.hash) return status('rewritten', cp.seq);
    }
    return status(null, null);
  }

  /** Resolves once appends made so far are in and their checkpoints written (before the stores close). */
  async settle(): Promise<void> {
    await this.#tail.catch(noop);
    await this.#checkpoints.idle();
  }

  /** Every entry about these targets, in order, a page at a time. */
  async *pagesAbout(targets: readonly string[], limit = PAGE): AsyncGenerator<AuditRow[]> {
    await this.#settled();
    for (let afterSeq = 0; ; ) {
      const rows = await this.store.auditEntries({ afterSeq, limit, targets });
      yield rows;
      if (rows.length < limit) return;
      afterSeq = rows[rows.length - 1]!.seq;
    }
  }

  /** Entries in seq order after `afterSeq`: the first `limit` of them, or with `newest` the last. */
  async page(afterSeq: number, limit: number, options: { targets?: readonly string[]; newest?: boolean } = {}): Promise<AuditRow[]> {
    await this.#settled();
    return this.store.auditEntries({
      afterSeq,
      limit,
      newest: options.newest ?? false,
      ...(options.targets === undefined ? {} : { targets: options.targets }),
    });
  }

  /** The seq of the last entry, 0 for an empty chain; entries are numbered 1, 2, … without gaps. */
  async head(): Promise<number> {
    await this.#settled();
    return (await this.store.lastAudit())?.seq ?? 0;
  }
}
