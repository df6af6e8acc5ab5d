import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf } from '../server/app/helpers.ts';
import { sql } from '../privacy/direct-db.ts';
import { eventTopic, flavours, openIngestRig, type IngestRig } from './ingest-rig.ts';

/**
 * Event ids are idempotent per device: (device id, event id) is the key. A device that predicts (or
 * copies) another device's event id cannot make that event disappear, and the live feed hears of a
 * row only when a write actually inserted it, never of a redelivered duplicate.
 */
describe.each(await flavours())('event identity on %s', (flavour) => {
  let rig: IngestRig;

  beforeAll(async () => {
    rig = await openIngestRig(flavour);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
  });

  const stored = (deviceId: string) =>
    sql<{ id: string; seq: number | string | bigint }>(rig.urls.eu!, `SELECT "id", "seq" FROM "Event" WHERE "deviceId" = '${deviceId}' ORDER BY "seq"`);

  it("stores a device's event although another device sent the same event id first", async () => {
    const victim = await rig.device('eu');
    const attacker = await rig.device('eu');
    const real = eventOf('brew', victim, new Date(), 41);
    const predicted = { ...eventOf('brew', attacker, new Date(), 99), id: real.id };
    expect(await rig.send(eventTopic(attacker), predicted)).toMatchObject({ status: 'stored' });
    expect(await rig.send(eventTopic(victim), real)).toMatchObject({ status: 'stored' });
    expect((await stored(victim)).map((r) => [r.id, Number(r.seq)])).toEqual([[real.id, 41]]);
    expect((await stored(attacker)).map((r) => [r.id, Number(r.seq)])).toEqual([[real.id, 99]]);
    expect(
      rig.committed.events
        .filter((r) => r.id === real.id)
        .map((r) => r.deviceId)
        .sort(),
    ).toEqual([attacker, victim].sort());
  });

  it('reports to the live feed (and counts as stored) only rows that were inserted, not redelivered duplicates', async () => {
    const deviceId = await rig.device('eu');
    const first = eventOf('brew', deviceId, new Date(), 1);
    const second = eventOf('brew', deviceId, new Date(), 2);
    const storedBefore = rig.stats.snapshot().stored.eu ?? 0;
    // The same message twice in one batch, then again in a later batch (a redelivery).
    const outcomes = await Promise.all([rig.send(eventTopic(deviceId), first), rig.send(eventTopic(deviceId), first), rig.send(eventTopic(deviceId), second)]);
    expect(outcomes.map((o) => o.status)).toEqual(['stored', 'stored', 'stored']);
    expect(await rig.send(eventTopic(deviceId), first)).toMatchObject({ status: 'stored' });
    expect(
      rig.committed.events
        .filter((r) => r.deviceId === deviceId)
        .map((r) => r.seq)
        .sort(),
    ).toEqual([1, 2]);
    expect((rig.stats.snapshot().stored.eu ?? 0) - storedBefore).toBe(2);
    expect(await stored(deviceId)).toHaveLength(2);
  });

  it('keeps seq up to Number.MAX_SAFE_INTEGER exactly, read back through the API path', async () => {
    const deviceId = await rig.device('eu');
    const event = eventOf('brew', deviceId, new Date(), Number.MAX_SAFE_INTEGER);
    expect(await rig.send(eventTopic(deviceId), event)).toMatchObject({ status: 'stored' });
    const [row] = await rig.stores.regions.get('eu')!.listEvents(deviceId, { limit: 1 });
    expect(row).toMatchObject({ id: event.id, seq: Number.MAX_SAFE_INTEGER });
  });
});
