import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketStream } from '../../mqtt-wire/websocket-client.ts';
import { waitUntil } from '../support/wait.ts';

/** The WebSocket transport against the `ws` package's server: handshake, framing, control frames. */
describe('the WebSocket transport', () => {
  let server: Server | undefined;
  let sockets: WebSocketServer | undefined;
  afterEach(async () => {
    for (const socket of sockets?.clients ?? []) socket.terminate();
    sockets?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function listen(protocol: string | false = 'mqtt'): Promise<{ url: URL; connected: Promise<WebSocket> }> {
    server = createServer();
    sockets = new WebSocketServer({ server, handleProtocols: (offered) => (protocol && offered.has(protocol) ? protocol : false) });
    const connected = once(sockets, 'connection').then(([socket]) => socket as WebSocket);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: new URL(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/mqtt`), connected };
  }

  function collect(stream: WebSocketStream): { data: Buffer[]; errors: Error[]; closed: () => boolean } {
    const data: Buffer[] = [];
    const errors: Error[] = [];
    let closed = false;
    stream.on('data', (chunk: Buffer) => data.push(chunk));
    stream.on('error', (error: Error) => errors.push(error));
    stream.on('close', () => (closed = true));
    return { data, errors, closed: () => closed };
  }

  it('sends binary frames (also what was written before the upgrade), reads fragments as one byte stream, answers pings', async () => {
    const { url, connected } = await listen();
    const stream = new WebSocketStream(url);
    const seen = collect(stream);
    stream.write(Buffer.from([0x10, 0x00]));
    const socket = await connected;
    const received: Array<{ data: Buffer; binary: boolean }> = [];
    socket.on('message', (data, binary) => received.push({ data: data as Buffer, binary }));
    const pongs: Buffer[] = [];
    socket.on('pong', (data) => pongs.push(data));
    stream.write(Buffer.alloc(300, 1));
    await waitUntil('two frames', () => received.length === 2, 5_000, 10);
    expect(received.map((r) => [r.binary, r.data.length])).toEqual([
      [true, 2],
      [true, 300],
    ]);
    socket.ping(Buffer.from('are you there'));
    socket.send(Buffer.from('ab'), { binary: true, fin: false });
    socket.send(Buffer.from('cd'), { binary: true, fin: true });
    await waitUntil('the pong and the data', () => pongs.length === 1 && Buffer.concat(seen.data).length === 4, 5_000, 10);
    expect(pongs[0]!.toString()).toBe('are you there');
    expect(Buffer.concat(seen.data).toString()).toBe('abcd');
    stream.end();
    await waitUntil('the close', seen.closed, 5_000, 10);
    expect(seen.errors).toEqual([]);
  });

  it('closes on a text frame, which MQTT never uses', async () => {
    const { url, connected } = await listen();
    const seen = collect(new WebSocketStream(url));
    (await connected).send('text');
    await waitUntil('the close', seen.closed, 5_000, 10);
    expect(seen.errors.map((e) => (e as { code?: string }).code)).toEqual(['EPROTO']);
  });

  it('refuses a server that does not choose the "mqtt" subprotocol', async () => {
    const { url } = await listen(false);
    const seen = collect(new WebSocketStream(url));
    await waitUntil('the close', seen.closed, 5_000, 10);
    expect(seen.errors[0]?.message).toMatch(/subprotocol/);
  });
});
