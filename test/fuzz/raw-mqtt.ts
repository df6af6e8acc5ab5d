import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/**
 * MQTT 3.1.1 by hand over a TCP socket, for inputs a well-behaved client library will not send:
 * invalid UTF-8 in a topic, a packet dribbled one byte at a time.
 */
export interface RawMqtt {
  closed: Promise<void>;
  isClosed(): boolean;
  /** Resolves with the first packet of that type (already received or yet to come), or null when the socket closes first. */
  next(cmd: Packet['cmd']): Promise<Packet | null>;
  write(bytes: Buffer): Promise<void>;
  destroy(): void;
}

export async function openRaw(url: string): Promise<RawMqtt> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  let closedFlag = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedFlag = true;
      resolve();
    }),
  );
  socket.on('error', () => undefined);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const received: Packet[] = [];
  parser.on('packet', (p: Packet) => received.push(p));
  parser.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    closed,
    isClosed: () => closedFlag,
    async next(cmd) {
      for (;;) {
        const found = received.find((p) => p.cmd === cmd);
        if (found) return found;
        if (closedFlag) return null;
        await Promise.race([closed, new Promise((resolve) => socket.once('data', resolve))]);
      }
    },
    write: (bytes) =>
      new Promise<void>((resolve) => {
        if (closedFlag) return resolve();
        socket.write(bytes, () => resolve());
      }),
    destroy: () => socket.destroy(),
  };
}

export const connectPacket = (clientId: string, username: string, password: string): Buffer =>
  mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 30,
    username,
    password: Buffer.from(password),
  });

/**
 * A QoS 1 PUBLISH whose topic is given as raw bytes, so it may be anything, including invalid UTF-8
 * (mqtt-packet writes a Buffer topic as it is).
 */
export function publishPacket(topic: Buffer, payload: Buffer, messageId: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic: topic as unknown as string, payload, qos: 1, messageId, dup: false, retain: false });
}
