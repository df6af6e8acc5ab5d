import { createHarness } from 'brewtel';
import { storedEventSchema } from 'brewtel/schema';
import { expect, test } from 'vitest';

test('a fleet stores in its home regions, with consent, and the compliance report says so', async () => {
  await using h = await createHarness({ machines: 6, regions: ['eu', 'us'], seed: 7 });
  expect(h.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  expect(h.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const dev = await h.provision({ region: 'eu', consent: { usage: true, location: 'coarse', payment: false, diagnostics: true } });
  await h.waitForStored({ count: 20, timeoutMs: 20_000 });
  h.fleet.injectFaults({ drop: 0.05 });
  await h.setConsent(dev.id, { usage: false });

  const stored = await h.storedEvents({ region: 'eu' });
  expect(stored.length).toBeGreaterThan(0);
  for (const { region, ...event } of stored) {
    expect(region).toBe('eu');
    expect(storedEventSchema.safeParse(event).success).toBe(true);
  }
  expect(await h.report()).toMatchObject({ residencyViolations: 0, unconsentedRows: 0 });
}, 60_000);
