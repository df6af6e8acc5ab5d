import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { startFleet, type Fleet } from '../../firmware-sim/fleet.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';
import { brokerFor, startDeviceRegistry, type DeviceRegistry } from '../broker/support.ts';
import { waitFor } from './aedes-server.ts';

/**
 * The simulator counts what our broker refuses, by MQTT 5 reason code: a PUBACK of 0x80 or more, a
 * CONNACK refusal, a DISCONNECT the broker sent. Real broker (auth, ACL, limits) on port 0.
 */
describe('refusals by reason code, against our broker', () => {
  const logger = pino({ level: 'silent' });
  let registry: DeviceRegistry | undefined;
  let broker: TcpBroker | undefined;
  let fleet: Fleet | undefined;
  let connection: DeviceConnection | undefined;
  afterEach(async () => {
    await fleet?.stop();
    await connection?.stop(500);
    await broker?.close();
    await registry?.close();
    fleet = connection = broker = registry = undefined;
  });

  it('counts a wrong secret as CONNACK 0x86 (v5) and 0x04 (3.1.1), and a machine over its publish rate as DISCONNECT 0x96', async () => {
    registry = await startDeviceRegistry({ 'cm-rc-fast': { secret: 'right', region: 'eu' }, 'cm-rc-v4': { secret: 'right', region: 'eu' } });
    broker = await brokerFor(registry, logger, { limits: { publishPerSecond: 2, publishBurst: 3 } });
    fleet = await startFleet(
      {
        brokerUrl: broker.mqttUrl,
        seed: 3,
        speed: 200_000,
        machines: [
          // Leaky firmware publishes without waiting for a consent record, so events flow at once.
          { deviceId: 'cm-rc-fast', secret: 'right', region: 'eu', profile: 'leaky', usage: 'cafe' },
          { deviceId: 'cm-rc-wrong', secret: 'wrong', region: 'eu' },
          { deviceId: 'cm-rc-v4', secret: 'wrong', region: 'eu', mqttVersion: 4 },
        ],
      },
      logger,
    );
    const f = fleet;
    await waitFor(() => (f.stats().refusals.disconnect['0x96'] ?? 0) >= 1, 10_000, 'a DISCONNECT 0x96');
    const { refusals } = f.stats();
    expect(refusals.connack['0x86']).toBeGreaterThanOrEqual(1);
    expect(refusals.connack['0x04']).toBeGreaterThanOrEqual(1);
    expect(refusals.puback).toEqual({});
  });

  it('counts a publish the topic policy refuses as PUBACK 0x87', async () => {
    registry = await startDeviceRegistry({ 'cm-rc-acl': { secret: 'right', region: 'eu' } });
    broker = await brokerFor(registry, logger);
    const counters = new FleetCounters(1);
    connection = new DeviceConnection({
      brokerUrl: broker.mqttUrl,
      deviceId: 'cm-rc-acl',
      secret: 'right',
      counters,
      logger,
      onConsent: () => {},
      onCommand: () => {},
      offlineBufferSize: 10,
    });
    expect(await connection.firstAttempt()).toBe(true);
    // A name the grammar admits but no command has: the ACL lets a device answer only commands that exist.
    await new Promise<void>((resolve) => connection!.reply('brew-now', '{}', resolve));
    expect(counters.snapshot().refusals).toEqual({ puback: { '0x87': 1 }, connack: {}, disconnect: {} });
  });
});
