import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { consentBatchRequestSchema } from '../../schema/api.ts';
import type { ConsentCategories } from '../../schema/consent.ts';
import { deviceHomeSchema, directoryProvisionBatchRequestSchema, type DeviceHome } from '../../schema/directory.ts';

/**
 * A small real HTTP server speaking the plane directory's lookup contract (schema/directory.ts:
 * `GET /api/v1/directory/devices/:id`, bearer token, 404 when unknown), so the broker and the
 * machines are tested against a socket. The real directory is another room, tested on its own.
 * Each region's "plane API" it answers with is a path of this same server that takes only the
 * consent batch (`PUT {apiUrl}/api/v1/devices/consent:batch`), so provisioning clients are seen to
 * set consent there and never send it to the directory (whose contract refuses it).
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
  /** Provisioning bodies received, as sent (so a test can see what crossed the directory's interface). */
  provisionBodies: string[];
  /** Consent set at a region's plane API, by device id. */
  consents: Map<string, { region: string; consent: ConsentCategories }>;
  /** Stops listening: from now on the directory is unreachable. */
  close(): Promise<void>;
}

export async function startDirectoryDouble(): Promise<DirectoryDouble> {
  const token = 'directory-token-0123456789';
  const PREFIX = '/api/v1/directory/devices/';
  let server: Server;
  const apiUrlOf = (region: string): string => `${directory.url}/plane-${region}/`;
  const CONSENT_PATH = /^\/plane-([a-z0-9-]+)\/api\/v1\/devices\/consent:batch(\?.*)?$/;
  const directory: DirectoryDouble = {
    url: '',
    token,
    lookups: new Map(),
    homes: new Map(),
    down: false,
    planes: new Map(),
    provisionBodies: [],
    consents: new Map(),
    place(deviceId, region, mqttUrl) {
      directory.homes.set(deviceId, deviceHomeSchema.parse({ deviceId, region, mqttUrl, apiUrl: apiUrlOf(region) }));
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
    const consentAt = req.method === 'PUT' ? CONSENT_PATH.exec(path) : null;
    if (consentAt) return setConsent(consentAt[1]!, req, answer);
    if (req.method !== 'GET' || !path.startsWith(PREFIX)) return answer(404, { statusCode: 404, code: 'NOT_FOUND', message: 'no route' });
    const deviceId = decodeURIComponent(path.slice(PREFIX.length));
    directory.lookups.set(deviceId, (directory.lookups.get(deviceId) ?? 0) + 1);
    const home = directory.homes.get(deviceId);
    if (!home) return answer(404, { statusCode: 404, code: 'DEVICE_NOT_FOUND', message: 'unknown device' });
    answer(200, home);
  });
  let minted = 0;
  const body = (req: IncomingMessage, then: (text: string) => void): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
  };
  function provision(req: IncomingMessage, answer: (status: number, body: unknown) => void): void {
    body(req, (text) => {
      directory.provisionBodies.push(text);
      const request = directoryProvisionBatchRequestSchema.safeParse(JSON.parse(text));
      if (!request.success) return answer(400, { statusCode: 400, code: 'VALIDATION_FAILED', message: 'bad body' });
      const devices = request.data.devices.map(({ region }) => {
        const mqttUrl = directory.planes.get(region);
        const id = `cm-dir-${region}-${++minted}`;
        if (mqttUrl) directory.place(id, region, mqttUrl);
        return { id, region, secret: `secret-${id}`, mqttUrl: mqttUrl ?? 'mqtt://nowhere.test:1883', apiUrl: apiUrlOf(region) };
      });
      answer(201, { devices, failed: [] });
    });
  }
  function setConsent(region: string, req: IncomingMessage, answer: (status: number, body: unknown) => void): void {
    body(req, (text) => {
      const request = consentBatchRequestSchema.safeParse(JSON.parse(text));
      if (!request.success) return answer(400, { statusCode: 400, code: 'VALIDATION_FAILED', message: 'bad body' });
      const issuedAt = new Date().toISOString();
      const records = request.data.devices.map(({ id, consent }) => {
        directory.consents.set(id, { region, consent });
        return { deviceId: id, version: 2, issuedAt, categories: consent };
      });
      answer(200, { records });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  directory.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return directory;
}
