import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceConnection } from '../../firmware-sim/device-connection.ts';
import { FleetCounters } from '../../firmware-sim/fleet-stats.ts';

const logger = pino({ level: 'silent' });

/**
 * A broker that takes the TCP connection and never answers CONNECT: every machine stays offline, so
 * whatever it publishes waits in its buffer.
 */
describe('the fleet-wide backlog bound', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  const links: DeviceConnection[] = [];

  afterEach(async () => {
    for (const link of links.splice(0)) await link.stop(1_000);
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('keeps all machines together at backlogMax waiting events, each giving up its own oldest, and counts every drop', async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `mqtt://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const counters = new FleetCounters(2, 4);
    for (const deviceId of ['cm-backlog-a', 'cm-backlog-b']) {
      const link = new DeviceConnection({
        brokerUrl: url,
        deviceId,
        secret: 's',
        counters,
        logger,
        onConsent: () => {},
        onCommand: () => {},
        offlineBufferSize: 100,
      });
      links.push(link);
    }
    const [a, b] = links as [DeviceConnection, DeviceConnection];
    for (let seq = 1; seq <= 3; seq++) a.send('status', `{"seq":${seq}}`);
    for (let seq = 1; seq <= 3; seq++) b.send('status', `{"seq":${seq}}`);

    expect(counters.buffered).toBe(4);
    expect(a.backlog + b.backlog).toBe(4);
    // b found the fleet full twice and gave up its own oldest each time; a kept its three.
    expect([a.backlog, b.backlog]).toEqual([3, 1]);
    expect(counters.snapshot()).toMatchObject({ dropped: 2, droppedFleetBacklog: 2 });
    // Kept encoded: each `{"seq":N}` is 9 UTF-8 bytes and a 5-byte entry header.
    expect(counters.bufferedBytes).toBe(4 * (9 + 5));
    expect(a.discardBuffered()).toBe(3);
    expect(counters.bufferedBytes).toBe(1 * (9 + 5));
  });
});
