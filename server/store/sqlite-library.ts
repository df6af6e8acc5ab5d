import type BetterSqlite3 from 'better-sqlite3';
import { createRequire } from 'node:module';

/**
 * better-sqlite3 as the Prisma SQLite adapter loads it, for every SQLite file this server opens
 * itself (migrations, the event writer's raw statements, the key vaults). One copy of SQLite per
 * process: two copies on the same file break each other's POSIX locks, and the event writer takes
 * the adapter's own connection, which an instanceof check of another copy refuses. In this
 * repository an override makes them one package anyway; where brewtel is installed as a dependency
 * overrides do not apply, and the adapter may get a better-sqlite3 of its own.
 */
const fromAdapter = createRequire(createRequire(import.meta.url).resolve('@prisma/adapter-better-sqlite3'));

export const Database = fromAdapter('better-sqlite3') as typeof BetterSqlite3;
export type Database = BetterSqlite3.Database;
export type Statement<P extends unknown[] | object = unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;
