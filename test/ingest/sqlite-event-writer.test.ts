import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStore, type StoreDb } from '../../server/store/connect.ts';
import { eventRow } from '../server/store/fixtures.ts';

let dir: string;
let db: StoreDb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brewtel-event-writer-'));
  db = await connectStore({ kind: 'sqlite', file: join(dir, 'eu.db') }, pino({ level: 'silent' }));
});

afterAll(async () => {
  await db?.client.$disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ids = (sql: string): string[] => {
  const reader = new Database(join(dir, 'eu.db'), { readonly: true, fileMustExist: true });
  try {
    return (reader.prepare(sql).all() as { id: string }[]).map((r) => r.id);
  } finally {
    reader.close();
  }
};

describe('the SQLite event writer on the connection Prisma also uses', () => {
  it('waits for a Prisma transaction that is open instead of joining it, so its rows survive that rollback', async () => {
    const write = db.writeEvents;
    const rows = [eventRow('cm-writer-a', 1), eventRow('cm-writer-a', 2)];
    let inside: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const prismaTransaction = db.client.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`INSERT INTO "Device" ("id", "createdAt") VALUES ('cm-rolled-back', '2026-11-28T00:00:00.000+00:00')`);
      inside();
      await gate;
      throw new Error('rolled back on purpose');
    });
    await opened;
    const writing = write(rows);
    const early = await Promise.race([writing.then(() => 'committed'), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(early).toBe('waiting');
    release();
    await expect(prismaTransaction).rejects.toThrow('rolled back on purpose');
    expect((await writing).inserted).toHaveLength(2);
    expect(ids('SELECT id FROM "Device"')).toEqual([]);
    expect(ids('SELECT id FROM "Event" ORDER BY id')).toEqual(rows.map((r) => r.id));
  });

  it('stores each event id once and counts only new rows', async () => {
    const write = db.writeEvents;
    const rows = [eventRow('cm-writer-b', 1), eventRow('cm-writer-b', 2)];
    expect((await write(rows)).inserted).toHaveLength(2);
    expect((await write([...rows, eventRow('cm-writer-b', 3)])).inserted).toHaveLength(1);
    expect((await write([])).inserted).toHaveLength(0);
    expect(ids(`SELECT id FROM "Event" WHERE "deviceId" = 'cm-writer-b'`)).toHaveLength(3);
  });
});
