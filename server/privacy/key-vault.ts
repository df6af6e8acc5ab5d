import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { Database, type Statement } from '../store/sqlite-library.ts';

/** Two server processes sharing a data folder may touch the vault at once; its writes take microseconds. */
const VAULT_BUSY_MS = 1_000;
const KEY_BYTES = 32;

/**
 * One region's owner keys, in a small SQLite file of its own, never in the region store whose rows
 * they open: destroying a key must not leave a copy in the same file as the ciphertext.
 *
 * secure_delete overwrites a deleted key with zeros in the file, and the rollback journal (not WAL)
 * that held the page during the deleting transaction is unlinked at its commit, so once destroy()
 * returns no file of the vault holds the key. The file is created 0600 before SQLite opens it; SQLite
 * gives its journal the same mode.
 */
export class KeyVault {
  readonly #db: Database;
  readonly #get: Statement<[string], { key: Buffer }>;
  readonly #insert: Statement<[string, Buffer, string]>;
  readonly #delete: Statement<[string]>;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'a' creates the file with this mode if missing and leaves an existing one as it is.
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file, { timeout: VAULT_BUSY_MS });
    this.#db.pragma('journal_mode = DELETE');
    this.#db.pragma('secure_delete = ON');
    this.#db.exec('CREATE TABLE IF NOT EXISTS owner_key (owner_id TEXT PRIMARY KEY, key BLOB NOT NULL, created_at TEXT NOT NULL)');
    this.#get = this.#db.prepare('SELECT key FROM owner_key WHERE owner_id = ?');
    this.#insert = this.#db.prepare('INSERT INTO owner_key (owner_id, key, created_at) VALUES (?, ?, ?)');
    this.#delete = this.#db.prepare('DELETE FROM owner_key WHERE owner_id = ?');
  }

  /** A fresh random key for a new owner; throws when the owner already has one. */
  create(ownerId: string): Buffer {
    const key = randomBytes(KEY_BYTES);
    this.#insert.run(ownerId, key, new Date().toISOString());
    return key;
  }

  /**
   * Fresh keys for many new owners in one transaction: each transaction of this journal mode syncs
   * the file, about 5 ms, which one at a time made sealing 1,000 owners take seconds. All or none.
   */
  createMany(ownerIds: readonly string[]): Buffer[] {
    return this.#db.transaction(() => ownerIds.map((id) => this.create(id)))();
  }

  /** Destroys the keys of many owners in one transaction (a batch whose rows were not written). */
  destroyMany(ownerIds: readonly string[]): void {
    this.#db.transaction(() => {
      for (const id of ownerIds) this.destroy(id);
    })();
  }

  /** Null once destroyed (or never made). */
  get(ownerId: string): Buffer | null {
    return this.#get.get(ownerId)?.key ?? null;
  }

  /** Whether a key was there to destroy. */
  destroy(ownerId: string): boolean {
    return this.#delete.run(ownerId).changes > 0;
  }

  close(): void {
    this.#db.close();
  }
}
