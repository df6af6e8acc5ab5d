import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { DEFAULT_MAX_IN_FLIGHT } from '../../firmware-sim/device-connection-options.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { startTestBroker, waitFor, type TestBroker } from './aedes-server.ts';

/**
 * A broker that accepts the connection but stops acknowledging: events must not pile up inside
 * mqtt.js. The window holds `maxInFlight`, the bounded offline buffer the next ones, and beyond
 * that the oldest waiting events are dropped and counted, exactly as while offline.
 */
describe('in-flight window behind a broker that stops acknowledging', () => {
  let broker: TestBroker | undefined;
  let connection: DeviceConnection | undefined;
  afterEach(async () => {
    await connection?.stop(1_000);
    await broker?.close();
  });

  it('keeps at most maxInFlight unacknowledged, buffers the rest bounded, and drains in order', async () => {
    const b = await startTestBroker();
    broker = b;
    const held: Array<() => void> = [];
    let stalled = true;
    b.broker.authorizePublish = (_client, packet, done) => {
      if (stalled && packet.topic.includes('/evt/')) held.push(() => done(null));
      else done(null);
    };
    const counters = new FleetCounters(1);
    const deviceId = `cm-window-${process.pid}`;
    connection = new DeviceConnection({
      brokerUrl: b.url,
      deviceId,
      secret: 'x',
      counters,
      logger: pino({ level: 'silent' }),
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 20,
      maxInFlight: 5,
    });
    expect(await connection.firstAttempt()).toBe(true);
    for (let seq = 0; seq < 50; seq++) connection.send('status', JSON.stringify({ seq }));
    expect(counters.snapshot()).toMatchObject({ pending: 5, buffered: 20, dropped: 25 });
    await waitFor(() => held.length === 5, 5_000, 'five publishes reach the broker');

    stalled = false;
    for (const release of held.splice(0)) release();
    await waitFor(() => counters.published === 25, 10_000, 'everything kept is acknowledged');
    expect(counters.snapshot()).toMatchObject({ pending: 0, buffered: 0, dropped: 25, failed: 0 });
    // The window went first, then the newest twenty in order; the oldest waiting ones were dropped.
    const seqs = b.events.filter((e) => e.deviceId === deviceId).map((e) => e.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 20 }, (_, i) => 30 + i)]);
  });

  it('without a window given, a machine keeps at most five unacknowledged: the rest waits encoded, counted in bytes', async () => {
    const b = await startTestBroker();
    broker = b;
    b.broker.authorizePublish = (_client, packet, done) => {
      // Never acknowledged: the events stay unacknowledged (or waiting) until the test ends.
      if (!packet.topic.includes('/evt/')) done(null);
    };
    const counters = new FleetCounters(1);
    connection = new DeviceConnection({
      brokerUrl: b.url,
      deviceId: `cm-window-default-${process.pid}`,
      secret: 'x',
      counters,
      logger: pino({ level: 'silent' }),
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 100,
    });
    expect(await connection.firstAttempt()).toBe(true);
    const payload = JSON.stringify({ seq: 0, filler: 'x'.repeat(100) });
    for (let seq = 0; seq < 30; seq++) connection.send('status', payload);
    expect(DEFAULT_MAX_IN_FLIGHT).toBe(5);
    expect(counters.snapshot()).toMatchObject({ pending: 5, buffered: 25, dropped: 0, bufferedBytes: 25 * (Buffer.byteLength(payload) + 5) });
  });
});
