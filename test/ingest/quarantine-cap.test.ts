import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../privacy/direct-db.ts';
import { eventTopic, flavours, openIngestRig, type IngestRig } from './ingest-rig.ts';

const CAP = 5;

/** One device flooding bad messages fills its region's quarantine up to the hourly cap, and no further. */
describe.each(await flavours())('quarantine rows per device per hour on %s', (flavour) => {
  let rig: IngestRig;

  beforeAll(async () => {
    rig = await openIngestRig(flavour, { quarantinePerDeviceHour: CAP });
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
  });

  const quarantined = async (deviceId: string): Promise<number> =>
    Number((await sql<{ n: number | string }>(rig.urls.eu!, `SELECT COUNT(*) AS n FROM "Refusal" WHERE "deviceId" = '${deviceId}'`))[0]!.n);

  it('answers and counts every refusal, writes at most the cap, and counts what it did not write', async () => {
    const flooder = await rig.device('eu');
    const neighbour = await rig.device('eu');
    const outcomes = await Promise.all(Array.from({ length: 3 * CAP }, (_, i) => rig.send(eventTopic(flooder), `{"not json ${i}`)));
    expect(outcomes.every((o) => o.status === 'refused' && o.reason === 'malformed_json')).toBe(true);
    expect(rig.stats.snapshot().refusedByReason.malformed_json).toBe(3 * CAP);
    expect(await quarantined(flooder)).toBe(CAP);
    expect(rig.stats.snapshot().quarantineSuppressed.eu).toBe(2 * CAP);
    expect((await rig.metrics.quarantineSuppressed.get()).values.find((v) => v.labels.region === 'eu')?.value).toBe(2 * CAP);
    // Another device of the same region still has its own budget.
    expect(await rig.send(eventTopic(neighbour), '{"broken')).toMatchObject({ status: 'refused', reason: 'malformed_json' });
    expect(await quarantined(neighbour)).toBe(1);
  });
});
