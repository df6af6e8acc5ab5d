import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';

/**
 * A broker written by hand over a real socket, on mqtt-packet (an encoder and parser independent of
 * mqtt-wire), so each test decides what the broker answers, acknowledges and refuses, when it drops
 * the connection and whether it kept the session.
 */
export interface CraftedConnection {
  socket: Socket;
  /** Every packet the client sent on this connection, in order. */
  packets: Packet[];
  publishes(): IPublishPacket[];
  send(packet: Packet): void;
}

export interface CraftedBroker {
  url: string;
  connections: CraftedConnection[];
  /** Answers each CONNECT with this session-present flag (the broker's memory of the session). */
  sessionPresent: boolean;
  /** The CONNACK to answer a CONNECT with; by default success with `sessionPresent`. */
  connack: (connect: IConnectPacket) => IConnackPacket | null;
  close(): Promise<void>;
}

/** Answers CONNECT and SUBSCRIBE (granted QoS 1) on its own; everything else is the test's to send. */
export async function craftedBroker(protocolVersion: 4 | 5 = 4): Promise<CraftedBroker> {
  const connections: CraftedConnection[] = [];
  const options = { protocolVersion };
  const server: Server = createServer((socket) => {
    const parser = mqttPacket.parser(options);
    const connection: CraftedConnection = {
      socket,
      packets: [],
      publishes: () => connection.packets.filter((p): p is IPublishPacket => p.cmd === 'publish'),
      send: (packet) => void socket.write(mqttPacket.generate(packet, options)),
    };
    connections.push(connection);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => parser.parse(chunk));
    parser.on('error', () => socket.destroy());
    parser.on('packet', (packet: Packet) => {
      connection.packets.push(packet);
      if (packet.cmd === 'connect') {
        const answer = broker.connack(packet);
        if (answer) connection.send(answer);
      }
      if (packet.cmd === 'subscribe') connection.send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => 1) });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const broker: CraftedBroker = {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    sessionPresent: false,
    connack: () => ({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: broker.sessionPresent }),
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  return broker;
}

export const latest = (broker: CraftedBroker): CraftedConnection => broker.connections.at(-1)!;
