import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../../mqtt-wire/backoff.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { topics } from '../../schema/topics.ts';
import { ALL_CONSENT, consentFor, HOUR, MONDAY } from './helpers.ts';

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('reconnect backoff', () => {
  it('grows exponentially, stays within its cap and keeps at least half the step', () => {
    const policy = { initialMs: 100, maxMs: 5_000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 0.999_999)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
    expect(backoffDelay(50, policy, () => 1)).toBe(5_000);
    expect(backoffDelay(10, DEFAULT_BACKOFF, Math.random)).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
  });
});

describe('a machine that loses its broker connection', () => {
  let broker: Aedes | undefined;
  let server: Server | undefined;
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('reconnects by itself, keeps its session and goes on publishing', async () => {
    const deviceId = 'cm-reconnect-0';
    const b = await Aedes.createBroker();
    broker = b;
    const consent = Buffer.from(JSON.stringify(consentFor(deviceId, ALL_CONSENT)));
    b.publish({ cmd: 'publish', topic: topics.consent(deviceId), payload: consent, qos: 1, retain: true, dup: false }, () => {});
    server = createServer(b.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let connects = 0;
    let latest: Client | undefined;
    b.on('client', (client) => {
      connects++;
      latest = client;
    });

    fleet = await startFleet(
      { brokerUrl, machines: [{ deviceId, secret: 'x', region: 'eu', usage: 'cafe' }], seed: 3, speed: 36_000, startAt: MONDAY + 6 * HOUR },
      pino({ level: 'silent' }),
    );
    await fleet.whenPublished(20, 10_000);
    latest?.conn.destroy();
    const running = fleet;
    await waitFor(() => connects >= 2 && running.stats().connected === 1, 10_000);
    await fleet.whenPublished(fleet.stats().published + 50, 15_000);
    expect(fleet.stats().connected).toBe(1);
    expect(fleet.stats().failed).toBe(0);
  });

  it('fetches its consent again after a reboot, although the broker kept its session', async () => {
    const deviceId = 'cm-reboot-0';
    const b = await Aedes.createBroker();
    broker = b;
    const consent = Buffer.from(JSON.stringify(consentFor(deviceId, ALL_CONSENT)));
    b.publish({ cmd: 'publish', topic: topics.consent(deviceId), payload: consent, qos: 1, retain: true, dup: false }, () => {});
    server = createServer(b.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const options = {
      brokerUrl: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
      machines: [{ deviceId, secret: 'x', region: 'eu', usage: 'cafe' as const }],
      seed: 3,
      speed: 36_000,
      startAt: MONDAY + 6 * HOUR,
    };
    const first = await startFleet(options, pino({ level: 'silent' }));
    await first.whenPublished(10, 10_000);
    await first.stop();
    fleet = await startFleet(options, pino({ level: 'silent' }));
    await fleet.whenPublished(10, 10_000);
    expect(fleet.stats().failed).toBe(0);
  });
});
