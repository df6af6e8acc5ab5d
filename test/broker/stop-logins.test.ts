import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TcpBroker } from '../../broker/broker.ts';
import { waitUntil } from '../support/wait.ts';
import { brokerFor, captureLogs, INGEST, rawClient, startDeviceRegistry, type DeviceRegistry } from './support.ts';

const DEVICE = { id: 'cm-stoplogins00001', secret: 'stop-logins-secret-0123456789' };
const SERVER_SHUTTING_DOWN = 0x8b;

/**
 * A stack stops the broker's logins before the server behind its registry goes: a machine still
 * logging in is told the broker is shutting down, not that the registry is unavailable, and nobody
 * is warned about it, while clients already connected stay until the broker closes.
 */
describe('broker.stopLogins', () => {
  let registry: DeviceRegistry;
  let broker: TcpBroker;
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(async () => {
    registry = await startDeviceRegistry({ [DEVICE.id]: { secret: DEVICE.secret, region: 'eu' } });
    logs = captureLogs();
    broker = await brokerFor(registry, logs.logger);
  });
  afterEach(async () => {
    await broker.close();
    await registry.close();
  });

  it('refuses a login waiting on the registry, and every later one, with 0x8B; connected clients stay', async () => {
    const ingest = rawClient(broker.tcpPort, { clientId: INGEST.username, username: INGEST.username, password: INGEST.password, version: 5 });
    expect((await ingest.connack).reasonCode).toBe(0);

    registry.hang = true;
    const waiting = rawClient(broker.tcpPort, { clientId: DEVICE.id, username: DEVICE.id, password: DEVICE.secret, version: 5 });
    await waitUntil('the device check reaching the registry', () => registry.requests >= 1, 5_000);
    broker.stopLogins();
    expect((await waiting.connack).reasonCode).toBe(SERVER_SHUTTING_DOWN);

    const later = rawClient(broker.tcpPort, { clientId: DEVICE.id, username: DEVICE.id, password: DEVICE.secret, version: 4 });
    // 3.1.1 has no reason codes: 3, server unavailable.
    expect((await later.connack).returnCode).toBe(3);

    expect(ingest.socket.destroyed).toBe(false);
    const warnings = logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level >= 40);
    expect(warnings).toEqual([]);
    ingest.socket.destroy();
    waiting.socket.destroy();
    later.socket.destroy();
  });
});
