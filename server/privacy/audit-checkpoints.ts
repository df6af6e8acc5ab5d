import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditCheckpointRow, AuditStore } from '../store/types.ts';

/**
 * A chain's head (seq + hash, and where its keyed part starts), kept outside the store the chain
 * covers and signed: whoever can write that store can remove entries from its end or rebuild it, but
 * cannot move these back or forge new ones without the audit key.
 */
export type ChainHead = Omit<AuditCheckpointRow, 'mac' | 'at'>;

export interface CheckpointSink {
  /** For logs. */
  readonly where: string;
  read(store: string): Promise<AuditCheckpointRow | null>;
  /** Forward only: a head older than the one held is not written. */
  write(row: AuditCheckpointRow): Promise<void>;
}

const macOf = (key: Buffer, row: Omit<AuditCheckpointRow, 'mac'>): string =>
  createHmac('sha256', key)
    .update(JSON.stringify([row.store, row.seq, row.hash, row.keyedFrom, row.at.toISOString()]))
    .digest('hex');

export function signCheckpoint(key: Buffer, head: ChainHead, at = new Date()): AuditCheckpointRow {
  const row = { ...head, at };
  return { ...row, mac: macOf(key, row) };
}

export function checkpointVerifies(key: Buffer, row: AuditCheckpointRow): boolean {
  const expected = Buffer.from(macOf(key, row), 'hex');
  const given = Buffer.from(row.mac, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** An unreadable checkpoint file: kept as one that does not verify, never taken for a missing one. */
const unreadable = (store: string): AuditCheckpointRow => ({ store, seq: -1, hash: '', keyedFrom: -1, at: new Date(0), mac: '' });

/** `<dir>/audit-head-<store>.json`, replaced atomically (written aside, synced, renamed over). */
export function fileCheckpointSink(dir: string): CheckpointSink {
  const fileOf = (store: string): string => path.join(dir, `audit-head-${store}.json`);
  const read = async (store: string): Promise<AuditCheckpointRow | null> => {
    let text: string;
    try {
      text = await readFile(fileOf(store), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const { seq, hash, keyedFrom, at, mac } = parsed;
      if (typeof seq !== 'number' || typeof hash !== 'string' || typeof keyedFrom !== 'number' || typeof at !== 'string' || typeof mac !== 'string')
        return unreadable(store);
      return { store, seq, hash, keyedFrom, at: new Date(at), mac };
    } catch {
      return unreadable(store);
    }
  };
  return {
    where: dir,
    read,
    async write(row) {
      const held = await read(row.store);
      if (held && held.seq >= row.seq) return;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = fileOf(row.store);
      const aside = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      const handle = await open(aside, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify({ ...row, at: row.at.toISOString() })}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(aside, file).catch(async (err: unknown) => {
        await rm(aside, { force: true });
        throw err;
      });
    },
  };
}

/** The AuditCheckpoint table of another database (the directory for a region's chain, and the other way round). */
export function storeCheckpointSink(name: string, store: Pick<AuditStore, 'readAuditCheckpoint' | 'writeAuditCheckpoint'>): CheckpointSink {
  return { where: `store ${name}`, read: (s) => store.readAuditCheckpoint(s), write: (row) => store.writeAuditCheckpoint(row) };
}

/**
 * Writes a chain's head to every sink after appends, coalesced: while one write runs, later heads
 * wait and only the newest is written next, so the checkpoint trails the chain by at most the entries
 * appended during one write. A held checkpoint that does not verify, or that the chain no longer
 * passes through, is left alone: it is the evidence verification reports.
 */
export class Checkpointer {
  #pending: ChainHead | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly store: string,
    private readonly key: Buffer,
    readonly sinks: readonly CheckpointSink[],
    private readonly chain: Pick<AuditStore, 'auditAt'>,
    private readonly logger: Logger,
  ) {}

  request(head: ChainHead): void {
    if (this.#pending === null || head.seq > this.#pending.seq) this.#pending = head;
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
  }

  /** Resolves once every requested head is written (or its write failed and was logged). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Every sink's checkpoint of this chain that is there (null where none is). */
  readAll(): Promise<(AuditCheckpointRow | null)[]> {
    return Promise.all(this.sinks.map((sink) => sink.read(this.store)));
  }

  verifies(row: AuditCheckpointRow): boolean {
    return checkpointVerifies(this.key, row);
  }

  async #drain(): Promise<void> {
    for (let head = this.#pending; head !== null; head = this.#pending) {
      this.#pending = null;
      await Promise.all(this.sinks.map((sink) => this.#write(sink, head!)));
    }
  }

  async #write(sink: CheckpointSink, head: ChainHead): Promise<void> {
    try {
      const held = await sink.read(this.store);
      if (held) {
        if (!this.verifies(held)) {
          this.logger.error({ store: this.store, where: sink.where }, 'audit checkpoint does not verify; left as it is');
          return;
        }
        if (held.seq >= head.seq) return;
        if ((await this.chain.auditAt(held.seq))?.hash !== held.hash) {
          this.logger.error({ store: this.store, where: sink.where, seq: held.seq }, 'audit chain no longer passes through its checkpoint; left as it is');
          return;
        }
      }
      await sink.write(signCheckpoint(this.key, head));
    } catch (err) {
      this.logger.warn({ err, store: this.store, where: sink.where }, 'audit checkpoint not written; the next append tries again');
    }
  }
}
