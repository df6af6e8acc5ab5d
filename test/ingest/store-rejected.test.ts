import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf } from '../server/app/helpers.ts';
import { sql } from '../privacy/direct-db.ts';
import { eventTopic, flavours, openIngestRig, type IngestRig } from './ingest-rig.ts';

const POISON_SEQ = 666;

/**
 * A constraint the contract knows nothing of (an operator's CHECK, a trigger) makes the store refuse
 * some rows. The batch they are in must not be retried forever: the poison rows alone are refused as
 * store_rejected, the rest of their batch is stored, and the region keeps taking events.
 */
describe.each(await flavours())('a poison row in a batch on %s', (flavour) => {
  let rig: IngestRig;
  let eu: string;
  let us: string;

  beforeAll(async () => {
    // One linger long enough that the whole burst below shares a batch or two.
    rig = await openIngestRig(flavour, { lingerMs: 50, batchMax: 500 });
    eu = await rig.device('eu');
    us = await rig.device('us');
    const poison =
      flavour === 'postgres'
        ? `ALTER TABLE "Event" ADD CONSTRAINT "poison" CHECK ("seq" <> ${POISON_SEQ})`
        : `CREATE TRIGGER "poison" BEFORE INSERT ON "Event" WHEN NEW."seq" = ${POISON_SEQ} BEGIN SELECT RAISE(ABORT, 'poison row'); END`;
    await sql(rig.urls.eu!, poison);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
  });

  const eventsIn = async (deviceId: string): Promise<number> =>
    Number(
      (await sql<{ n: number | string }>(rig.urls[deviceId === us ? 'us' : 'eu']!, `SELECT COUNT(*) AS n FROM "Event" WHERE "deviceId" = '${deviceId}'`))[0]!.n,
    );

  it('stores the rest of the batch, refuses just the poison rows as store_rejected, and keeps the region flowing', async () => {
    const events = Array.from({ length: 120 }, (_, i) => eventOf('brew', eu, new Date(Date.now() - 60_000 + i), [7, 50, 111].includes(i) ? POISON_SEQ : i + 1));
    const outcomes = await Promise.all(events.map((e) => rig.send(eventTopic(eu), e)));
    const byStatus = (status: string) => outcomes.filter((o) => (o.status === 'refused' ? o.reason : o.status) === status).length;
    expect(byStatus('stored')).toBe(117);
    expect(byStatus('store_rejected')).toBe(3);
    expect(await eventsIn(eu)).toBe(117);

    // Refused and counted: stats, the metric, and a quarantine row each (with the payload, as configured).
    expect(rig.stats.snapshot().refusedByReason.store_rejected).toBe(3);
    expect((await rig.metrics.storeRejected.get()).values.find((v) => v.labels.target === 'events:eu')?.value).toBe(3);
    const quarantined = await sql<{ eventId: string; payload: Uint8Array | null }>(
      rig.urls.eu!,
      `SELECT "eventId", "payload" FROM "Refusal" WHERE "reason" = 'store_rejected'`,
    );
    expect(quarantined.map((r) => r.eventId).sort()).toEqual(
      events
        .filter((e) => e.seq === POISON_SEQ)
        .map((e) => e.id)
        .sort(),
    );
    // The live feed heard of the stored rows only.
    expect(rig.committed.events.filter((r) => r.deviceId === eu)).toHaveLength(117);

    // Still flowing: the next events of the region are stored at once, poison or not around them.
    const next = await Promise.all([1, 2, 3].map((i) => rig.send(eventTopic(eu), eventOf('brew', eu, new Date(), 1_000 + i))));
    expect(next.map((o) => o.status)).toEqual(['stored', 'stored', 'stored']);
    expect(rig.ingest.storeWritable('eu')).toBe(true);
    // And the other region never noticed.
    expect((await rig.send(eventTopic(us), eventOf('brew', us, new Date(), POISON_SEQ))).status).toBe('stored');
    expect(await eventsIn(us)).toBe(1);
  }, 60_000);

  it('retries, and never refuses, a batch whose store is only locked or unreachable', async () => {
    // A transient failure: the table is locked by another session for a while.
    const release = flavour === 'postgres' ? await holdPostgresLock(rig.urls.eu!) : await holdSqliteLock(rig.urls.eu!);
    const pending = rig.send(eventTopic(eu), eventOf('brew', eu, new Date(), 2_000));
    const early = await Promise.race([pending.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 400))]);
    expect(early).toBe('waiting');
    await release();
    expect(await pending).toMatchObject({ status: 'stored' });
  }, 60_000);
});

/** Another connection holds the SQLite write lock until released. */
async function holdSqliteLock(url: string): Promise<() => Promise<void>> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.slice('file:'.length));
  db.exec('BEGIN IMMEDIATE');
  return async () => {
    db.exec('ROLLBACK');
    db.close();
  };
}

/** Another session holds an exclusive lock on the Event table until released. */
async function holdPostgresLock(url: string): Promise<() => Promise<void>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('BEGIN; LOCK TABLE "Event" IN ACCESS EXCLUSIVE MODE');
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}
