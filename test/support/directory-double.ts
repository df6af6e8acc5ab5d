import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { provisionBatchRequestSchema } from '../../schema/api.ts';
import { deviceHomeSchema, type DeviceHome } from '../../schema/directory.ts';

/**
 * A small real HTTP server speaking the plane directory's lookup contract (schema/directory.ts:
 * `GET /api/v1/directory/devices/:id`, bearer token, 404 when unknown), so the broker and the
 * machines are tested against a socket. The real directory is another room, tested on its own.
 */
export interface DirectoryDouble {
  url: string;
  token: string;
  /** Lookups asked, by device id. */
  lookups: Map<string, number>;
  homes: Map<string, DeviceHome>;
  /** While true every request is answered 503 (a directory that is down but reachable). */
  down: boolean;
  /**
   * Region -> that plane's MQTT URL, for `POST /api/v1/directory/devices:batch`: devices are made up
   * here (no plane behind it), placed, and answered with their plane's endpoints.
   */
  planes: Map<string, string>;
  place(deviceId: string, region: string, mqttUrl: string): void;
  /** Stops listening: from now on the directory is unreachable. */
  close(): Promise<void>;
}

export async function startDirectoryDouble(): Promise<DirectoryDouble> {
  const token = 'directory-token-0123456789';
  const PREFIX = '/api/v1/directory/devices/';
  let server: Server;
  const directory: DirectoryDouble = {
    url: '',
    token,
    lookups: new Map(),
    homes: new Map(),
    down: false,
    planes: new Map(),
    place(deviceId, region, mqttUrl) {
      directory.homes.set(deviceId, deviceHomeSchema.parse({ deviceId, region, mqttUrl, apiUrl: `http://${region}.plane.test/` }));
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    const answer = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (directory.down) return answer(503, { statusCode: 503, code: 'UNAVAILABLE', message: 'down on purpose' });
    if (req.headers.authorization !== `Bearer ${token}`) return answer(401, { statusCode: 401, code: 'UNAUTHORIZED', message: 'no' });
    const path = req.url ?? '';
    if (req.method === 'POST' && path === '/api/v1/directory/devices:batch') return provision(req, answer);
    if (req.method !== 'GET' || !path.startsWith(PREFIX)) return answer(404, { statusCode: 404, code: 'NOT_FOUND', message: 'no route' });
    const deviceId = decodeURIComponent(path.slice(PREFIX.length));
    directory.lookups.set(deviceId, (directory.lookups.get(deviceId) ?? 0) + 1);
    const home = directory.homes.get(deviceId);
    if (!home) return answer(404, { statusCode: 404, code: 'DEVICE_NOT_FOUND', message: 'unknown device' });
    answer(200, home);
  });
  let minted = 0;
  function provision(req: import('node:http').IncomingMessage, answer: (status: number, body: unknown) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = provisionBatchRequestSchema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!request.success) return answer(400, { statusCode: 400, code: 'VALIDATION_FAILED', message: 'bad body' });
      const devices = request.data.devices.map(({ region, consent }) => {
        const mqttUrl = directory.planes.get(region);
        const id = `cm-dir-${region}-${++minted}`;
        if (mqttUrl) directory.place(id, region, mqttUrl);
        return {
          id,
          region,
          secret: `secret-${id}`,
          consent: {
            deviceId: id,
            version: 1,
            issuedAt: new Date().toISOString(),
            categories: consent ?? { usage: false, location: 'none', payment: false, diagnostics: false },
          },
          mqttUrl: mqttUrl ?? 'mqtt://nowhere.test:1883',
          apiUrl: `http://${region}.plane.test/`,
        };
      });
      answer(201, { devices, failed: [] });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  directory.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return directory;
}
