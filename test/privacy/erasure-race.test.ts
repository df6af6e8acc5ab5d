import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, eventOf, eventually } from '../server/app/helpers.ts';
import { sql } from './direct-db.ts';
import { ADMIN, postgresAvailable, startPrivacyStack, type PrivacyStack, type StoreFlavour } from './fixture.ts';

const withPostgres = await postgresAvailable();

/**
 * No event of an erased device may be committed after its erasure answered. Events keep arriving
 * while the erasure runs; a long linger holding events that passed ingest's (in-memory) tombstone check
 * (SQLite), or a slow store statement (PostgreSQL), make a batch of events that passed it commit only
 * after the erasure's delete, which is exactly the race: the event
 * writer must find the tombstone inside its own transaction and refuse those rows as device_erased.
 * The same holds for a malformed message refused after it passed the check: its quarantine row is
 * written without the payload once the device has a tombstone.
 */
describe.each<StoreFlavour>(['sqlite', ...(withPostgres ? (['postgres'] as const) : [])])('an erasure racing a stream of events on %s', (flavour) => {
  let stack: PrivacyStack;
  let device: MqttClient;

  beforeAll(async () => {
    stack = await startPrivacyStack(flavour, { ingest: { drainTimeoutMs: 1_000, lingerMs: 150, quarantinePayloads: true } });
    device = await mqtt.connectAsync(stack.brokerUrl, { clientId: `race-device-${flavour}` });
    if (flavour === 'postgres') {
      // A slow store: each batch statement takes 300 ms after its snapshot, so one is always under way
      // when the erasure (a few steps, each a round trip) reaches its delete.
      await sql(
        stack.storeUrls.eu!,
        `CREATE FUNCTION "slow_insert"() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER "slow" BEFORE INSERT ON "Event" FOR EACH STATEMENT EXECUTE FUNCTION "slow_insert"();
        CREATE TRIGGER "slow" BEFORE INSERT ON "Refusal" FOR EACH STATEMENT EXECUTE FUNCTION "slow_insert"()`,
      );
    }
  }, 60_000);

  afterAll(async () => {
    await device?.endAsync();
    await stack?.close();
  });

  const rowsOf = async (table: 'Event' | 'Refusal', deviceId: string, extra = ''): Promise<number> =>
    Number((await sql<{ n: number | string }>(stack.storeUrls.eu!, `SELECT COUNT(*) AS n FROM "${table}" WHERE "deviceId" = '${deviceId}' ${extra}`))[0]!.n);

  it('leaves no event row of the device once the erasure answered, however the stream and the erasure interleave', async () => {
    const created = await stack.api('POST', '/api/v1/devices', ADMIN, { region: 'eu', consent: ALL_CONSENT });
    const deviceId = (created.json as { id: string }).id;
    let published = 0;
    let streaming = true;
    const acks: Promise<unknown>[] = [];
    const stream = (async () => {
      while (streaming) {
        // Every fourth message is malformed: refused, and quarantined with its payload (as configured) while the device exists.
        const payload = ++published % 4 === 0 ? `{"broken": ${published}` : JSON.stringify(eventOf('brew', deviceId, new Date(), published));
        acks.push(device.publishAsync(topics.event(deviceId, 'brew'), payload, { qos: 1 }));
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    try {
      await eventually(async () => {
        expect(await rowsOf('Event', deviceId)).toBeGreaterThan(30);
        expect(await rowsOf('Refusal', deviceId, 'AND "payload" IS NOT NULL')).toBeGreaterThan(0);
      }, 20_000);

      const answer = await stack.api('DELETE', `/api/v1/devices/${deviceId}`, ADMIN);
      expect(answer.status).toBe(200);
      expect(await rowsOf('Event', deviceId)).toBe(0);
      expect(await rowsOf('Refusal', deviceId, 'AND "payload" IS NOT NULL')).toBe(0);

      // The stream goes on a while, then every message is let through ingest (stored before, or refused).
      await new Promise((r) => setTimeout(r, 600));
    } finally {
      streaming = false;
      await stream;
      await Promise.allSettled(acks);
    }
    await eventually(() => {
      const { stored, refused } = stack.server.stats();
      expect((stored.eu ?? 0) + (refused.eu ?? 0)).toBe(published);
    }, 20_000);
    expect(await rowsOf('Event', deviceId)).toBe(0);
    // What came after the tombstone was refused as device_erased, and nothing of the device is in the quarantine with a payload.
    expect(stack.server.stats().refusedByReason.device_erased ?? 0).toBeGreaterThan(0);
    expect(await rowsOf('Refusal', deviceId, `AND "reason" = 'device_erased'`)).toBeGreaterThan(0);
    expect(await rowsOf('Refusal', deviceId, 'AND "payload" IS NOT NULL')).toBe(0);
  }, 90_000);
});
