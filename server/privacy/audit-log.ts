import type { Logger } from 'pino';
import type { AuditChainStatus } from '../../schema/privacy.ts';
import { type AuditRow, type AuditStore, StoreConflictError } from '../store/types.ts';
import { ChainVerifier, chainEntry } from './audit-chain.ts';

/** What an audited action says about itself; detail holds counts and versions, never personal data. */
export interface AuditEvent {
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, string | number | boolean | null>;
}

const CONFLICT_RETRIES = 20;
const PAGE = 1_000;

/**
 * Appends to one store's chain. Appends are serialised in this process; another process taking the
 * same seq makes the insert fail, and the entry is chained again on the new end.
 */
export class AuditLog {
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly name: string, private readonly store: AuditStore, private readonly logger: Logger) {}

  append(event: AuditEvent): Promise<AuditRow> {
    const next = this.#tail.catch(() => undefined).then(() => this.#append(event));
    this.#tail = next;
    return next;
  }

  /** For actions already done (a login seen): a failure is logged, never thrown at the caller. */
  record(event: AuditEvent): void {
    this.append(event).catch((err: unknown) => this.logger.error({ err, store: this.name, action: event.action }, 'audit append failed'));
  }

  async #append(event: AuditEvent): Promise<AuditRow> {
    const record = { at: new Date(), actor: event.actor, action: event.action, target: event.target, detail: JSON.stringify(event.detail ?? {}) };
    for (let attempt = 0; ; attempt++) {
      const row = chainEntry(await this.store.lastAudit(), record);
      try {
        await this.store.appendAudit(row);
        return row;
      } catch (err) {
        if (!(err instanceof StoreConflictError) || attempt >= CONFLICT_RETRIES) throw err;
      }
    }
  }

  /**
   * Reads first let the appends already queued here land (a login is recorded without being awaited),
   * so a reader sees every entry of the requests it made before.
   */
  #settled(): Promise<void> {
    return this.#tail.then(() => undefined, () => undefined);
  }

  async verify(): Promise<AuditChainStatus> {
    await this.#settled();
    const verifier = new ChainVerifier();
    for (let afterSeq = 0; ;) {
      const rows = await this.store.auditEntries({ afterSeq, limit: PAGE });
      for (const row of rows) verifier.feed(row);
      if (rows.length < PAGE) break;
      afterSeq = rows[rows.length - 1]!.seq;
    }
    return { store: this.name, ...verifier.result() };
  }

  /** Every entry about these targets, in order. */
  async about(targets: readonly string[]): Promise<AuditRow[]> {
    await this.#settled();
    const found: AuditRow[] = [];
    for (let afterSeq = 0; ;) {
      const rows = await this.store.auditEntries({ afterSeq, limit: PAGE, targets });
      found.push(...rows);
      if (rows.length < PAGE) return found;
      afterSeq = rows[rows.length - 1]!.seq;
    }
  }

  async page(afterSeq: number, limit: number): Promise<AuditRow[]> {
    await this.#settled();
    return this.store.auditEntries({ afterSeq, limit });
  }
}
