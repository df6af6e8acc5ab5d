/**
 * What a failed store call means for the rows it carried. Pure: reads only the error's fields.
 *
 * - `rejected`: the data is at fault (a constraint, a value out of the column's range, a malformed
 *   value). Retrying the same rows cannot cure it; ingest splits the batch to find the row.
 * - `transient`: the store is (for now) unable to take any write: connection lost, locked or busy,
 *   disk or memory full, shutting down. Retried with backoff.
 * - `unknown`: neither could be told (a bug, a missing migration, an error of a kind not listed
 *   here). Retried like a transient one: refusing every row of a store that is merely misconfigured
 *   would acknowledge, and so lose, messages that a fix would have stored.
 */
export type StoreErrorClass = 'rejected' | 'transient' | 'unknown';

/** SQLite primary result codes (extended codes keep them in their low byte). */
const SQLITE_PRIMARY: Readonly<Record<number, Exclude<StoreErrorClass, 'unknown'>>> = {
  5: 'transient', // SQLITE_BUSY
  6: 'transient', // SQLITE_LOCKED
  7: 'transient', // SQLITE_NOMEM
  9: 'transient', // SQLITE_INTERRUPT
  10: 'transient', // SQLITE_IOERR
  13: 'transient', // SQLITE_FULL
  14: 'transient', // SQLITE_CANTOPEN
  15: 'transient', // SQLITE_PROTOCOL
  18: 'rejected', // SQLITE_TOOBIG
  19: 'rejected', // SQLITE_CONSTRAINT
  20: 'rejected', // SQLITE_MISMATCH
};
const SQLITE_NAMED: Readonly<Record<string, number>> = {
  SQLITE_BUSY: 5,
  SQLITE_LOCKED: 6,
  SQLITE_NOMEM: 7,
  SQLITE_INTERRUPT: 9,
  SQLITE_IOERR: 10,
  SQLITE_FULL: 13,
  SQLITE_CANTOPEN: 14,
  SQLITE_PROTOCOL: 15,
  SQLITE_TOOBIG: 18,
  SQLITE_CONSTRAINT: 19,
  SQLITE_MISMATCH: 20,
};

/** SQLSTATE classes and codes (PostgreSQL appendix A). */
function classifySqlState(code: string): StoreErrorClass {
  const cls = code.slice(0, 2);
  if (cls === '22' || cls === '23') return 'rejected'; // data exception, integrity constraint violation
  if (cls === '08' || cls === '53' || cls === '58') return 'transient'; // connection, insufficient resources (disk full), system/I/O
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014' || code.startsWith('57P')) return 'transient'; // serialization, deadlock, lock timeout, cancel, shutdown
  return 'unknown';
}

function classifySqliteName(code: string): StoreErrorClass {
  // Extended codes name their primary first: SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_IOERR_SHORT_READ.
  const primary = SQLITE_NAMED[code.split('_').slice(0, 2).join('_')];
  return primary === undefined ? 'unknown' : (SQLITE_PRIMARY[primary] ?? 'unknown');
}

/** Node's socket and file errors: the store is not reachable or its disk is full. */
const SYSTEM_TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOSPC',
  'EIO',
]);

/** Prisma's own error codes (P1xxx: connection; P2xxx: query), for the ones that say which side is at fault. */
const PRISMA_CODES: Readonly<Record<string, Exclude<StoreErrorClass, 'unknown'>>> = {
  P1001: 'transient',
  P1002: 'transient',
  P1008: 'transient',
  P1017: 'transient',
  P2024: 'transient',
  P2034: 'transient',
  P2000: 'rejected',
  P2002: 'rejected',
  P2003: 'rejected',
  P2004: 'rejected',
  P2005: 'rejected',
  P2006: 'rejected',
  P2007: 'rejected',
  P2011: 'rejected',
  P2012: 'rejected',
  P2019: 'rejected',
  P2020: 'rejected',
  P2033: 'rejected',
};

/** The kinds Prisma's driver adapters map database errors to (DriverAdapterError.cause.kind). */
const ADAPTER_KINDS: Readonly<Record<string, Exclude<StoreErrorClass, 'unknown'>>> = {
  UniqueConstraintViolation: 'rejected',
  NullConstraintViolation: 'rejected',
  ForeignKeyConstraintViolation: 'rejected',
  LengthMismatch: 'rejected',
  ValueOutOfRange: 'rejected',
  InvalidInputValue: 'rejected',
  InconsistentColumnData: 'rejected',
  SocketTimeout: 'transient',
  TooManyConnections: 'transient',
  TransactionWriteConflict: 'transient',
  DatabaseNotReachable: 'transient',
  ConnectionClosed: 'transient',
};

const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined);

/** One error object on its own, without looking at what it wraps. */
function classifyOne(err: unknown): StoreErrorClass {
  const code = field(err, 'code');
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return classifySqliteName(code);
    if (/^[0-9A-Z]{5}$/.test(code) && !code.startsWith('P')) return classifySqlState(code);
    if (PRISMA_CODES[code]) return PRISMA_CODES[code];
    if (SYSTEM_TRANSIENT.has(code)) return 'transient';
  }
  // A driver adapter error's cause: { kind: 'postgres', code } | { kind: 'sqlite', extendedCode } | { kind: mapped, originalCode? }.
  const kind = field(err, 'kind');
  if (kind === 'sqlite' && typeof field(err, 'extendedCode') === 'number') return SQLITE_PRIMARY[(field(err, 'extendedCode') as number) & 0xff] ?? 'unknown';
  if (typeof kind === 'string' && ADAPTER_KINDS[kind]) return ADAPTER_KINDS[kind];
  const original = field(err, 'originalCode');
  if (typeof original === 'string') return original.startsWith('SQLITE_') ? classifySqliteName(original) : classifySqlState(original);
  // The query's arguments could not be rendered for the engine (a date outside what it can express).
  if (field(err, 'name') === 'PrismaClientValidationError') return 'rejected';
  if (field(err, 'name') === 'PrismaClientInitializationError') return 'transient';
  return 'unknown';
}

/** Classifies an error from better-sqlite3, pg, or Prisma (and the adapter errors it wraps). */
export function classifyStoreError(err: unknown): StoreErrorClass {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && seen.size < 8) {
    const next = queue.shift();
    if (next === undefined || next === null || seen.has(next)) continue;
    seen.add(next);
    const found = classifyOne(next);
    if (found !== 'unknown') return found;
    const adapterError = field(field(next, 'meta'), 'driverAdapterError');
    queue.push(adapterError, field(adapterError, 'cause'), field(next, 'cause'));
  }
  return 'unknown';
}

/** The most specific code an error carries (SQLSTATE, SQLITE_*, Prisma's P-code, an adapter kind), for logs that must not quote values. */
export function storeErrorCode(err: unknown): string {
  const adapterCause = field(field(field(err, 'meta'), 'driverAdapterError'), 'cause');
  for (const candidate of [
    field(adapterCause, 'originalCode'),
    field(adapterCause, 'code'),
    field(adapterCause, 'kind'),
    field(err, 'code'),
    field(field(err, 'cause'), 'code'),
    field(err, 'name'),
  ]) {
    if (typeof candidate === 'string' && candidate.length > 0) return candidate;
  }
  return 'unknown';
}
