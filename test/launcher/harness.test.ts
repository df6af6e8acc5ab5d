import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTcp, startBroker, type TcpBroker } from '../../broker/broker.ts';
import { createHarness, type Harness } from '../../launcher/harness.ts';
import { createTempDatabases, postgresReachable } from '../server/store/pg-temp-databases.ts';

const harnessDirs = async (): Promise<string[]> => (await readdir(tmpdir())).filter((name) => name.startsWith('brewtel-harness-'));

describe('createHarness with the embedded stack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ machines: 6, regions: ['eu', 'us'], seed: 7 });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('listens on ephemeral ports on 127.0.0.1 and answers with its admin token', async () => {
    expect(h.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(h.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(h.mqttUrl).not.toMatch(/:1883$/);
    expect((await fetch(`${h.httpUrl}/api/v1/devices`, { headers: { authorization: `Bearer ${h.adminToken}` } })).status).toBe(200);
    expect(h.machines).toHaveLength(6);
  });

  it("waits for stored events, which sit in their devices' home regions only", async () => {
    expect(await h.waitForStored({ count: 20, timeoutMs: 20_000 })).toBeGreaterThanOrEqual(20);
    const home = new Map(h.machines.map((m) => [m.deviceId, m.region]));
    for (const region of ['eu', 'us'] as const) {
      const events = await h.storedEvents({ region });
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) expect(home.get(event.deviceId)).toBe(region);
    }
  });

  it('provisions a running device, changes its consent through the API and reports no violation', async () => {
    const dev = await h.provision({ region: 'eu', consent: { usage: true, location: 'coarse', payment: false, diagnostics: true } });
    expect(dev.region).toBe('eu');
    expect(dev.consent.version).toBe(1);
    await expect.poll(async () => (await h.storedEvents({ region: 'eu', deviceId: dev.id })).length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);

    const record = await h.setConsent(dev.id, { usage: false });
    expect(record.version).toBe(2);
    expect(record.categories).toEqual({ usage: false, location: 'coarse', payment: false, diagnostics: true });

    const result = await h.sendCommand(dev.id, 'reboot');
    expect(result.status).toBe('ok');

    expect(await h.report()).toMatchObject({ residencyViolations: 0, unconsentedRows: 0, ok: true });
  });

  it('injects faults into chosen machines and refuses device ids it does not run', async () => {
    const [first] = h.machines;
    h.fleet.injectFaults({ duplicate: 1 }, [first!.deviceId]);
    await expect.poll(() => h.fleet.stats().reduce((n, s) => n + s.injected.duplicate, 0), { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    h.fleet.injectFaults({});
    expect(() => h.fleet.injectFaults({ drop: 0.5 }, ['dev-not-here'])).toThrow(/not machines of this harness: dev-not-here/);
  });

  it('says what it waited for and what it saw when the wait times out', async () => {
    await expect(h.waitForStored({ count: 1_000_000, region: 'us', kind: 'payment', timeoutMs: 200 })).rejects.toThrow(
      /waited 200 ms for 1000000 stored events in region us of kind payment; saw \d+ \(us \d+; the fleet published \d+\)/,
    );
  });
});

describe('createHarness cleans up', () => {
  it('stop() closes the listeners and removes its data folder; await using does the same', async () => {
    const before = await harnessDirs();
    let httpUrl: string;
    {
      await using h = await createHarness({ machines: 0, regions: ['eu'] });
      httpUrl = h.httpUrl;
      expect((await harnessDirs()).length).toBe(before.length + 1);
    }
    await expect(fetch(`${httpUrl}/health`)).rejects.toThrow();
    expect(await harnessDirs()).toEqual(before);
  });
});

const pgAvailable = await postgresReachable();
if (!pgAvailable && process.env.CI === 'true') throw new Error('PostgreSQL is not reachable on 127.0.0.1:5432, and CI=true requires these tests to run');

describe.skipIf(!pgAvailable)('createHarness with PostgreSQL stores', () => {
  it("stores events in the region's PostgreSQL database", async () => {
    const { urls, drop } = await createTempDatabases(['dir', 'eu']);
    try {
      await using h = await createHarness({ machines: 3, regions: ['eu'], stores: { eu: urls.eu! }, directoryUrl: urls.dir! });
      await h.waitForStored({ count: 5, region: 'eu', timeoutMs: 20_000 });
      expect((await h.storedEvents({ region: 'eu' })).length).toBeGreaterThanOrEqual(5);
    } finally {
      await drop();
    }
  });

  it('fails half-way (a store that does not exist) and leaves nothing behind', async () => {
    const before = await harnessDirs();
    await expect(
      createHarness({ machines: 2, regions: ['eu'], stores: { eu: 'postgresql://postgres@127.0.0.1:5432/brewtel_no_such_database' } }),
    ).rejects.toThrow();
    expect(await harnessDirs()).toEqual(before);
  });
});

describe('createHarness with an external broker', () => {
  let broker: TcpBroker;
  beforeAll(async () => {
    // A broker of its own on an ephemeral port, as a CI pipeline's broker would be; it checks nobody.
    broker = requireTcp(
      await startBroker({ host: '127.0.0.1', tcpPort: 0, wsPort: null, unsafePermissiveTestMode: true, logLevel: 'silent' }, pino({ level: 'silent' })),
    );
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('runs ingest and the fleet through it', async () => {
    await using h = await createHarness({ machines: 3, regions: ['eu'], broker: { url: broker.mqttUrl } });
    expect(h.mqttUrl).toBe(broker.mqttUrl);
    await h.waitForStored({ count: 5, timeoutMs: 20_000 });
    // The three machines and the server's ingest and outbound connections are all on this broker.
    expect(broker.stats().connections).toBeGreaterThanOrEqual(4);
    expect(broker.stats().messagesIn).toBeGreaterThanOrEqual(5);
  });
});
