import { connect, createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/** What one client sent through the relay, decoded at the protocol level its CONNECT named. */
export interface RelayedConnection {
  protocolVersion: number;
  /** The client id of its CONNECT. */
  clientId: string;
  packets: mqttPacket.Packet[];
  /** Bytes the client wrote. */
  bytes: number;
}

export interface RecordingRelay {
  url: string;
  connections: RelayedConnection[];
  close(): Promise<void>;
}

/**
 * A TCP relay in front of a broker that decodes what the clients send (not what the broker answers),
 * so a test can see the packets a client library really put on the wire. Bytes pass unchanged.
 */
export async function recordingRelay(targetPort: number): Promise<RecordingRelay> {
  const open = new Set<Socket>();
  const connections: RelayedConnection[] = [];
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('error', () => undefined);
      s.once('close', () => {
        open.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on('data', record());
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });

  /** Decodes one connection: the CONNECT (whose layout is the same at every level) says how to read the rest. */
  function record(): (chunk: Buffer) => void {
    let seen = Buffer.alloc(0);
    let connection: RelayedConnection | null = null;
    let parser: ReturnType<typeof mqttPacket.parser> | null = null;
    const probe = mqttPacket.parser({ protocolVersion: 5 });
    probe.on('packet', (packet) => {
      if (packet.cmd !== 'connect' || connection !== null) return;
      const found: RelayedConnection = { protocolVersion: packet.protocolVersion ?? 4, clientId: packet.clientId, packets: [], bytes: seen.length };
      connection = found;
      connections.push(found);
      parser = mqttPacket.parser({ protocolVersion: found.protocolVersion });
      parser.on('packet', (p) => found.packets.push(p));
      parser.parse(seen);
    });
    return (chunk) => {
      if (parser !== null && connection !== null) {
        connection.bytes += chunk.length;
        parser.parse(chunk);
        return;
      }
      seen = Buffer.concat([seen, chunk]);
      probe.parse(chunk);
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connections,
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
