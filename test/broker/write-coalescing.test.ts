import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../../broker/write-coalescing.ts';
import { waitUntil } from '../support/wait.ts';

/** Real loopback sockets; the writes are counted where the socket hands them to the kernel. */
describe('write coalescing', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function pair(): Promise<{ sender: Socket; received: () => Buffer; systemWrites: () => number }> {
    let accepted!: (socket: Socket) => void;
    const server = createServer((socket) => accepted(socket));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const senderReady = new Promise<Socket>((resolve) => (accepted = resolve));
    const receiver = connect((server.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(receiver);
    const chunks: Buffer[] = [];
    receiver.on('data', (chunk) => chunks.push(chunk));
    const sender = await senderReady;
    sockets.push(sender);
    let writes = 0;
    // Count every hand-over to libuv, whether one buffer or a batch.
    for (const method of ['_write', '_writev'] as const) {
      const original = sender[method]?.bind(sender);
      if (!original) continue;
      Reflect.set(sender, method, (...args: unknown[]) => {
        writes++;
        return Reflect.apply(original, sender, args);
      });
    }
    return { sender, received: () => Buffer.concat(chunks), systemWrites: () => writes };
  }

  const packet = (i: number): mqttPacket.IPublishPacket => ({
    cmd: 'publish',
    topic: 'coffee/v1/cm-a/evt/brew',
    payload: Buffer.from(`m${i}`),
    qos: 0,
    retain: false,
    dup: false,
  });
  const COUNT = 50;
  const wire = Buffer.concat(Array.from({ length: COUNT }, (_, i) => mqttPacket.generate(packet(i))));

  // As aedes writes: each packet from its own setImmediate, through mqtt-packet's cork/uncork.
  const writeLikeAedes = (socket: Socket): void => {
    for (let i = 0; i < COUNT; i++) setImmediate(() => mqttPacket.writeToStream(packet(i), socket));
  };

  it('sends the packets written in one loop turn in one system write, unchanged and in order', async () => {
    const plain = await pair();
    writeLikeAedes(plain.sender);
    const coalesced = await pair();
    coalesceWrites(coalesced.sender);
    writeLikeAedes(coalesced.sender);
    await waitUntil('every byte at both receivers', () => plain.received().length >= wire.length && coalesced.received().length >= wire.length, 5_000);

    expect(plain.systemWrites()).toBe(COUNT);
    expect(coalesced.systemWrites()).toBe(1);
    expect(coalesced.received().equals(wire)).toBe(true);
    expect(plain.received().equals(wire)).toBe(true);
  });
});
