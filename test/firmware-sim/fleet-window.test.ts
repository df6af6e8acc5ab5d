import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { FleetWindow, type WindowWaiter } from '../../firmware-sim/fleet-window.ts';
import { startTestBroker, waitFor, type TestBroker } from './aedes-server.ts';

describe('FleetWindow', () => {
  it('hands out at most its size, and wakes waiting machines oldest first while permits are free', () => {
    const window = new FleetWindow(2);
    expect([window.tryTake(), window.tryTake(), window.tryTake()]).toEqual([true, true, false]);
    const woken: string[] = [];
    const waiter = (name: string, takes: number): WindowWaiter => ({
      resume: () => {
        woken.push(name);
        for (let i = 0; i < takes; i++) window.tryTake();
      },
    });
    const idle = waiter('gone offline', 0);
    const busy = waiter('busy', 1);
    window.waitForRoom(idle);
    window.waitForRoom(busy);
    window.waitForRoom(idle); // already queued: keeps its place
    window.release(1);
    // The first takes nothing, so the permit goes on to the next.
    expect(woken).toEqual(['gone offline', 'busy']);
    expect(window.free).toBe(0);
  });

  it('lets a reconnecting machine take permits for what its client resends, past the bound', () => {
    const window = new FleetWindow(3);
    window.takeAnyway(5);
    expect(window.free).toBe(-2);
    expect(window.tryTake()).toBe(false);
    window.release(5);
    expect(window.free).toBe(3);
  });
});

/**
 * Real sockets: machines sharing one window behind a broker that holds its acknowledgements. The
 * bound holds over all of them together, events wait in each machine's buffer in order, and a
 * machine whose link drops gives its permits to the others.
 */
describe('machines sharing a fleet window', () => {
  let broker: TestBroker | undefined;
  const connections: DeviceConnection[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.stop(1_000)));
    await broker?.close();
  });

  const held: Array<{ deviceId: string; ack: () => void }> = [];
  let stalled = true;
  async function setUp(window: FleetWindow, machines: number): Promise<{ counters: FleetCounters; ids: string[] }> {
    const b = await startTestBroker();
    broker = b;
    held.length = 0;
    stalled = true;
    b.broker.authorizePublish = (client, packet, done) => {
      if (stalled && packet.topic.includes('/evt/')) held.push({ deviceId: client?.id ?? '', ack: () => done(null) });
      else done(null);
    };
    const counters = new FleetCounters(machines);
    const ids = Array.from({ length: machines }, (_, i) => `cm-fleet-window-${process.pid}-${i}`);
    for (const deviceId of ids) {
      const connection = new DeviceConnection({
        brokerUrl: b.url,
        deviceId,
        secret: 'x',
        counters,
        window,
        logger: pino({ level: 'silent' }),
        onConsent: () => {},
        onCommand: () => {},
        offlineBufferSize: 100,
      });
      connections.push(connection);
      expect(await connection.firstAttempt()).toBe(true);
    }
    return { counters, ids };
  }

  it('keeps at most the window in flight over all machines and delivers everything in order per machine', async () => {
    const window = new FleetWindow(4);
    const { counters, ids } = await setUp(window, 3);
    for (let seq = 0; seq < 6; seq++) for (const connection of connections) connection.send('status', JSON.stringify({ seq }));
    expect(counters.snapshot()).toMatchObject({ pending: 4, buffered: 14, dropped: 0 });
    expect(window.free).toBe(0);
    await waitFor(() => held.length === 4, 5_000, 'four publishes reach the broker');

    stalled = false;
    for (const h of held.splice(0)) h.ack();
    await waitFor(() => counters.published === 18, 10_000, 'every event is acknowledged');
    expect(counters.snapshot()).toMatchObject({ pending: 0, buffered: 0, dropped: 0, failed: 0 });
    expect(window.free).toBe(4);
    for (const deviceId of ids) {
      expect(broker!.events.filter((e) => e.deviceId === deviceId).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('gives a dropped link’s permits to the other machines and takes them back for what it resends', async () => {
    const window = new FleetWindow(3);
    const { counters, ids } = await setUp(window, 2);
    const [first, second] = connections as [DeviceConnection, DeviceConnection];
    for (let seq = 0; seq < 3; seq++) first.send('status', JSON.stringify({ seq }));
    second.send('status', JSON.stringify({ seq: 0 }));
    expect(window.free).toBe(0);
    expect(second.backlog).toBe(1);
    await waitFor(() => held.length === 3, 5_000, 'the first machine’s three publishes reach the broker');

    // Cut off while holding every permit: the second machine must not wait for it to come back.
    first.dropLink();
    await waitFor(() => held.length === 4, 5_000, 'the second machine sends once the first is cut off');
    expect(second.backlog).toBe(0);

    stalled = false;
    for (const h of held.splice(0)) h.ack();
    // The first machine reconnects on its own backoff and resends its three unacknowledged events.
    await waitFor(() => counters.published === 4, 15_000, 'every event is acknowledged, resent ones included');
    expect(counters.snapshot()).toMatchObject({ pending: 0, buffered: 0, dropped: 0 });
    expect(window.free).toBe(3);
    const seqsOf = (deviceId: string): number[] => [...new Set(broker!.events.filter((e) => e.deviceId === deviceId).map((e) => e.seq))];
    expect(seqsOf(ids[0]!)).toEqual([0, 1, 2]);
    expect(seqsOf(ids[1]!)).toEqual([0]);
  });
});
