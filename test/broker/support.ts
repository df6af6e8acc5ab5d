import { createServer, type Server } from 'node:http';
import { connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { pino, type Logger } from 'pino';
import { deviceAuthBatchRequestSchema, deviceAuthRequestSchema, deviceCertificateRequestSchema } from '../../schema/api.ts';
import { requireTcp, startBroker, type TcpBroker } from '../../broker/broker.ts';
import type { BrokerConfigInput } from '../../broker/config.ts';

/**
 * A small real HTTP server speaking the broker's device-auth contract (schema/api.ts), so the broker
 * is tested against a socket without the whole server. The real endpoint is covered end to end.
 */
export interface DeviceRegistry {
  url: string;
  token: string;
  requests: number;
  /** While set, every check is answered with this status instead. */
  failWith: number | null;
  /** While set, checks are never answered (a registry that hangs). */
  hang: boolean;
  /** Every answer is held back this long (a registry at the far end of a slow link). */
  delayMs: number;
  /** Client-certificate checks asked (POST …/device-certificate), a subset of `requests`. */
  certificateRequests: number;
  /** The item count of every batch check asked (POST …/device-auth:batch), in arrival order. */
  batches: number[];
  /** Devices answered as unknown from now on, whatever their secret or certificate. */
  revoked: Set<string>;
  close(): Promise<void>;
}

/**
 * `devices` log in with their secret; `certificateDevices` are known to the registry too, but only
 * certificate checks (…/device-certificate, where only the id is asked about) are answered for them.
 */
export async function startDeviceRegistry(
  devices: Record<string, { secret: string; region: string }>,
  certificateDevices: Record<string, { region: string }> = {},
): Promise<DeviceRegistry> {
  const token = 'registry-token-0123456789';
  let server: Server;
  const registry: DeviceRegistry = {
    url: '',
    token,
    requests: 0,
    failWith: null,
    hang: false,
    delayMs: 0,
    certificateRequests: 0,
    batches: [],
    revoked: new Set(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    registry.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (registry.hang) return;
      const answer = (status: number, body: unknown): void => {
        const send = (): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (registry.delayMs > 0) setTimeout(send, registry.delayMs);
        else send();
      };
      if (registry.failWith !== null) return answer(registry.failWith, { statusCode: registry.failWith, code: 'test_failure', message: 'failing on purpose' });
      if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${token}`) return answer(403, { statusCode: 403, code: 'forbidden', message: 'no' });
      let json: unknown;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(400, { statusCode: 400, code: 'bad_request', message: 'not json' });
      }
      if (req.url?.endsWith('/device-certificate')) {
        registry.certificateRequests++;
        const request = deviceCertificateRequestSchema.safeParse(json);
        if (!request.success) return answer(400, { statusCode: 400, code: 'bad_request', message: 'bad body' });
        const device = certificateDevices[request.data.deviceId] ?? devices[request.data.deviceId];
        if (!device || registry.revoked.has(request.data.deviceId)) return answer(401, { statusCode: 401, code: 'bad_credentials', message: 'no' });
        return answer(200, { deviceId: request.data.deviceId, region: device.region });
      }
      const known = (deviceId: string, secret: string) => {
        const device = devices[deviceId];
        return device && device.secret === secret && !registry.revoked.has(deviceId) ? device : null;
      };
      if (req.url?.endsWith('/device-auth:batch')) {
        const batch = deviceAuthBatchRequestSchema.safeParse(json);
        if (!batch.success) return answer(400, { statusCode: 400, code: 'bad_request', message: 'bad body' });
        registry.batches.push(batch.data.items.length);
        const results = batch.data.items.map(({ deviceId, secret }) => {
          const device = known(deviceId, secret);
          return device ? { outcome: 'valid', deviceId, region: device.region } : { outcome: 'invalid' };
        });
        return answer(200, { results });
      }
      const request = deviceAuthRequestSchema.safeParse(json);
      if (!request.success) return answer(400, { statusCode: 400, code: 'bad_request', message: 'bad body' });
      const device = known(request.data.deviceId, request.data.secret);
      if (!device) return answer(401, { statusCode: 401, code: 'bad_credentials', message: 'no' });
      answer(200, { deviceId: request.data.deviceId, region: device.region });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/broker/device-auth`;
  return registry;
}

export const INGEST = { username: 'svc-ingest', password: 'ingest-password-0123456789', role: 'ingest' as const };

/** Collects the broker's log lines so tests can check what is (and is not) in them. */
export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }) };
}

/** Our broker on port 0 in front of `registry`; TCP is always on here (tests of switching it off use startBroker). */
export async function brokerFor(registry: DeviceRegistry, logger: Logger, overrides: Partial<BrokerConfigInput> = {}): Promise<TcpBroker> {
  const broker = await startBroker(
    {
      host: '127.0.0.1',
      tcpPort: 0,
      wsPort: null,
      serviceAccounts: [INGEST],
      deviceAuth: { url: registry.url, token: registry.token, timeoutMs: 2_000 },
      ...overrides,
    },
    logger,
  );
  return requireTcp(broker);
}

/** Opens MQTT clients that never reconnect on their own and are all ended by `endAll`. */
export function clientPool(): {
  open(url: string, options: mqtt.IClientOptions): mqtt.MqttClient;
  connack(client: mqtt.MqttClient): Promise<number>;
  endAll(): Promise<void>;
} {
  const clients: mqtt.MqttClient[] = [];
  return {
    open(url, options) {
      const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    connack(client) {
      return new Promise((resolve) => {
        client.once('connect', () => resolve(0));
        client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
      });
    },
    async endAll() {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    },
  };
}

export interface RawClient {
  socket: Socket;
  /** Every packet the broker sent, in order; nothing is acknowledged unless the test sends it. */
  packets: mqttPacket.Packet[];
  connack: Promise<mqttPacket.IConnackPacket>;
  closed: Promise<void>;
  send(packet: mqttPacket.Packet): void;
}

export interface RawLogin {
  clientId: string;
  username?: string;
  password?: string;
  clean?: boolean;
  /** 4 (MQTT 3.1.1, the default) or 5. */
  version?: 4 | 5;
  keepalive?: number;
  /** MQTT 5 CONNECT properties (session expiry, maximum packet size, …). */
  properties?: mqttPacket.IConnectPacket['properties'];
  will?: mqttPacket.IConnectPacket['will'];
  /** Over TLS (the broker's TLS port), with these options: the CA to trust, a client certificate. */
  tls?: ConnectionOptions;
}

/** Speaks MQTT 3.1.1 or 5 by hand, so a test can leave a QoS exchange unfinished on purpose. */
export function rawClient(port: number, login: RawLogin): RawClient {
  const version = login.version ?? 4;
  const socket = login.tls ? connectTls({ ...login.tls, port, host: '127.0.0.1' }) : connectTcp(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets: mqttPacket.Packet[] = [];
  socket.on('data', (chunk) => parser.parse(chunk));
  const connack = new Promise<mqttPacket.IConnackPacket>((resolve, reject) => {
    parser.on('packet', (packet) => {
      packets.push(packet);
      if (packet.cmd === 'connack') resolve(packet);
    });
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  connack.catch(() => undefined);
  const send = (packet: mqttPacket.Packet): void => void socket.write(mqttPacket.generate(packet, { protocolVersion: version }));
  socket.once(login.tls ? 'secureConnect' : 'connect', () =>
    send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clean: login.clean ?? true,
      clientId: login.clientId,
      keepalive: login.keepalive ?? 30,
      ...(login.username === undefined ? {} : { username: login.username }),
      ...(login.password === undefined ? {} : { password: Buffer.from(login.password) }),
      ...(login.properties ? { properties: login.properties } : {}),
      ...(login.will ? { will: login.will } : {}),
    }),
  );
  return { socket, packets, connack, closed: new Promise((resolve) => socket.once('close', () => resolve())), send };
}

/** The DISCONNECT the broker sent an MQTT 5 raw client, once the connection has closed. */
export async function serverDisconnect(raw: RawClient): Promise<mqttPacket.IDisconnectPacket | undefined> {
  await raw.closed;
  return raw.packets.find((p): p is mqttPacket.IDisconnectPacket => p.cmd === 'disconnect');
}
