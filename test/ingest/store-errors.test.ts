import { describe, expect, it } from 'vitest';
import { classifyStoreError, storeErrorCode, type StoreErrorClass } from '../../server/store/store-errors.ts';

/** Error shapes as the drivers and Prisma 6.19's adapters throw them (seen on this machine). */
const sqlite = (code: string): Error => Object.assign(new Error('sqlite says no'), { name: 'SqliteError', code });
const pg = (code: string): Error => Object.assign(new Error('pg says no'), { name: 'error', code, severity: 'ERROR' });
const system = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code, errno: -1, syscall: 'connect' });
const prismaRaw = (cause: Record<string, unknown>): Error =>
  Object.assign(new Error('Raw query failed.'), {
    name: 'PrismaClientKnownRequestError',
    code: 'P2010',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause } },
  });
const prisma = (code: string): Error => Object.assign(new Error('prisma says no'), { name: 'PrismaClientKnownRequestError', code });
const named = (name: string): Error => Object.assign(new Error(name), { name });

const cases: [string, unknown, StoreErrorClass][] = [
  // better-sqlite3
  ['SQLITE_CONSTRAINT_PRIMARYKEY', sqlite('SQLITE_CONSTRAINT_PRIMARYKEY'), 'rejected'],
  ['SQLITE_CONSTRAINT_NOTNULL', sqlite('SQLITE_CONSTRAINT_NOTNULL'), 'rejected'],
  ['SQLITE_CONSTRAINT_CHECK', sqlite('SQLITE_CONSTRAINT_CHECK'), 'rejected'],
  ['SQLITE_MISMATCH', sqlite('SQLITE_MISMATCH'), 'rejected'],
  ['SQLITE_TOOBIG', sqlite('SQLITE_TOOBIG'), 'rejected'],
  ['SQLITE_BUSY', sqlite('SQLITE_BUSY'), 'transient'],
  ['SQLITE_BUSY_SNAPSHOT', sqlite('SQLITE_BUSY_SNAPSHOT'), 'transient'],
  ['SQLITE_LOCKED_SHAREDCACHE', sqlite('SQLITE_LOCKED_SHAREDCACHE'), 'transient'],
  ['SQLITE_FULL', sqlite('SQLITE_FULL'), 'transient'],
  ['SQLITE_IOERR_SHORT_READ', sqlite('SQLITE_IOERR_SHORT_READ'), 'transient'],
  ['SQLITE_CANTOPEN', sqlite('SQLITE_CANTOPEN'), 'transient'],
  ['SQLITE_ERROR (no such table: a missing migration)', sqlite('SQLITE_ERROR'), 'unknown'],
  ['SQLITE_READONLY', sqlite('SQLITE_READONLY'), 'unknown'],
  // pg: SQLSTATE classes
  ['22003 numeric value out of range', pg('22003'), 'rejected'],
  ['22021 NUL in text', pg('22021'), 'rejected'],
  ['22P05 unsupported Unicode escape', pg('22P05'), 'rejected'],
  ['22009 time zone displacement out of range', pg('22009'), 'rejected'],
  ['23505 unique violation', pg('23505'), 'rejected'],
  ['23502 not null violation', pg('23502'), 'rejected'],
  ['08006 connection failure', pg('08006'), 'transient'],
  ['53100 disk full', pg('53100'), 'transient'],
  ['53300 too many connections', pg('53300'), 'transient'],
  ['57P01 admin shutdown', pg('57P01'), 'transient'],
  ['57P03 cannot connect now', pg('57P03'), 'transient'],
  ['40P01 deadlock', pg('40P01'), 'transient'],
  ['40001 serialization failure', pg('40001'), 'transient'],
  ['55P03 lock not available', pg('55P03'), 'transient'],
  ['42P01 undefined table', pg('42P01'), 'unknown'],
  ['42703 undefined column', pg('42703'), 'unknown'],
  // Node's socket and file errors
  ['ECONNREFUSED', system('ECONNREFUSED'), 'transient'],
  ['ECONNRESET', system('ECONNRESET'), 'transient'],
  ['ENOSPC', system('ENOSPC'), 'transient'],
  // Prisma and its driver adapters
  ['P2010 wrapping a PostgreSQL 22021', prismaRaw({ originalCode: '22021', kind: 'postgres', code: '22021', message: 'invalid byte sequence' }), 'rejected'],
  [
    'P2010 wrapping UniqueConstraintViolation (SQLite)',
    prismaRaw({ originalCode: 'SQLITE_CONSTRAINT_PRIMARYKEY', kind: 'UniqueConstraintViolation', constraint: { fields: ['id'] } }),
    'rejected',
  ],
  ['P2010 wrapping ValueOutOfRange', prismaRaw({ originalCode: '22003', kind: 'ValueOutOfRange', cause: 'out of range' }), 'rejected'],
  ['P2010 wrapping a sqlite extended code (SQLITE_BUSY = 5)', prismaRaw({ kind: 'sqlite', extendedCode: 5, message: 'database is locked' }), 'transient'],
  ['P2010 wrapping a sqlite extended code (SQLITE_CONSTRAINT_UNIQUE = 2067)', prismaRaw({ kind: 'sqlite', extendedCode: 2067, message: 'UNIQUE' }), 'rejected'],
  ['P2010 wrapping SocketTimeout', prismaRaw({ kind: 'SocketTimeout' }), 'transient'],
  ['P2010 wrapping TooManyConnections', prismaRaw({ kind: 'TooManyConnections', cause: '' }), 'transient'],
  ['P2010 wrapping a PostgreSQL 42P01', prismaRaw({ originalCode: '42P01', kind: 'postgres', code: '42P01' }), 'unknown'],
  ['P2020 value out of range', prisma('P2020'), 'rejected'],
  ['P2002 unique constraint', prisma('P2002'), 'rejected'],
  ['P1001 cannot reach the server', prisma('P1001'), 'transient'],
  ['P2024 pool timeout', prisma('P2024'), 'transient'],
  ['P2034 write conflict', prisma('P2034'), 'transient'],
  ['PrismaClientValidationError (a date it cannot render)', named('PrismaClientValidationError'), 'rejected'],
  ['PrismaClientInitializationError', named('PrismaClientInitializationError'), 'transient'],
  ['an error wrapping a pg error as its cause', Object.assign(new Error('wrapped'), { cause: pg('23505') }), 'rejected'],
  // Nothing to go by: retried (a bug or misconfiguration must not refuse every message)
  ['a plain Error', new Error('Connection terminated unexpectedly'), 'unknown'],
  ['a string', 'boom', 'unknown'],
  ['null', null, 'unknown'],
  [
    'a self-referencing cause',
    (() => {
      const e = new Error('loop') as Error & { cause?: unknown };
      e.cause = e;
      return e;
    })(),
    'unknown',
  ],
];

describe('store error classes', () => {
  it.each(cases)('%s', (_what, err, expected) => {
    expect(classifyStoreError(err)).toBe(expected);
  });

  it('names an error by its most specific code, never by its message', () => {
    expect(storeErrorCode(prismaRaw({ originalCode: '22021', kind: 'postgres', code: '22021', message: 'value "Ada" …' }))).toBe('22021');
    expect(storeErrorCode(sqlite('SQLITE_CONSTRAINT_PRIMARYKEY'))).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(storeErrorCode(new Error('value "secret" is wrong'))).toBe('Error');
  });
});
