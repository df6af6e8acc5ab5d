import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** A listener that could not bind; the launcher turns it into a one-line message naming the flag. */
export class ListenError extends Error {
  readonly code: string;
  constructor(
    readonly listener: 'tcp' | 'ws' | 'tls' | 'metrics',
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    super(`${listener} listener could not bind port ${port}: ${cause.code ?? cause.message}`, { cause });
    this.name = 'ListenError';
    this.code = cause.code ?? 'ELISTEN';
  }
}

export interface Listener {
  port: number;
  /** Stops accepting, drops every open connection, resolves once the server is closed. */
  close(): Promise<void>;
}

export async function listenTcp(host: string, port: number, onConnection: (socket: Socket) => void): Promise<Listener> {
  const connections = trackConnections(onConnection);
  const server = createTcpServer({ noDelay: true }, connections.accept);
  return connections.listener(server, await bind(server, host, port, 'tcp'));
}

/**
 * Like listenTcp, over TLS. With `ca` set, a client certificate is asked for but not required: an
 * unverified or absent one leaves the client to log in with its secret (aedes-hooks reads
 * `socket.authorized`), so one listener serves both kinds of device.
 */
export async function listenTls(
  host: string,
  port: number,
  options: Pick<TlsOptions, 'cert' | 'key' | 'ca'>,
  onConnection: (socket: Socket) => void,
): Promise<Listener> {
  const connections = trackConnections(onConnection);
  const server = createTlsServer({ ...options, requestCert: options.ca !== undefined, rejectUnauthorized: false }, (socket) => {
    socket.setNoDelay(true);
    connections.accept(socket);
  });
  // A failed handshake (plain MQTT on the TLS port, an expired certificate) only concerns that socket.
  server.on('tlsClientError', () => undefined);
  return connections.listener(server, await bind(server, host, port, 'tls'));
}

/** Remembers open sockets so close() can drop them: a server's own close waits for every client to leave. */
function trackConnections(onConnection: (socket: Socket) => void) {
  const sockets = new Set<Socket>();
  return {
    accept(socket: Socket): void {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      onConnection(socket);
    },
    listener(server: TcpServer | TlsServer, port: number): Listener {
      return {
        port,
        close: async () => {
          const closed = closeServer(server);
          for (const socket of sockets) socket.destroy();
          await closed;
        },
      };
    },
  };
}

// Browsers offer `mqtt`; some MQTT 3.1 clients still offer the old `mqttv3.1` name.
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export async function listenWebSocket(
  host: string,
  port: number,
  maxMessageBytes: number,
  onConnection: (stream: Duplex, request: IncomingMessage) => void,
): Promise<Listener> {
  const server = createHttpServer();
  const wss = new WebSocketServer({
    server,
    maxPayload: maxMessageBytes,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  wss.on('connection', (socket, request) => {
    const stream = createWebSocketStream(socket);
    // Errors reach aedes through the stream; this only keeps a failed handshake from throwing.
    socket.on('error', () => undefined);
    onConnection(stream, request);
  });
  wss.on('error', () => undefined);
  const boundPort = await bind(server, host, port, 'ws');
  return {
    port: boundPort,
    close: async () => {
      const closed = closeServer(server);
      wss.close();
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await closed;
    },
  };
}

function bind(server: TcpServer | HttpServer | TlsServer, host: string, port: number, listener: 'tcp' | 'ws' | 'tls'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new ListenError(listener, port, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: TcpServer | HttpServer | TlsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
