import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * POSTs JSON to the device registry (and GETs from the plane directory) over kept-alive connections
 * of one `node:http` agent. Global
 * fetch cost the broker about 1.6 ms of CPU per request (WHATWG streams, Request/Response objects)
 * where the login check itself costs microseconds; a plain request on a reused socket costs a
 * fraction of that.
 */
export interface RegistryAnswer {
  status: number;
  /** The parsed body; null when it is not JSON (or was not read, for a status other than 200). */
  json: unknown;
}

export interface RegistryHttp {
  /** Rejects with the signal's reason when it aborts, or with the socket's error. */
  post(url: string, token: string, body: unknown, signal: AbortSignal): Promise<RegistryAnswer>;
  /** The same for a GET without a body; a 404 is an answer like any other status. */
  get(url: string, token: string, signal: AbortSignal): Promise<RegistryAnswer>;
  close(): void;
}

/** An answer is a few hundred bytes per login; anything far larger is not the registry speaking. */
const MAX_BODY_BYTES = 1 << 20;

export function createRegistryHttp(maxSockets: number): RegistryHttp {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets }), https: new HttpsAgent({ keepAlive: true, maxSockets }) };

  const send = (url: string, token: string, body: unknown, signal: AbortSignal): Promise<RegistryAnswer> =>
    new Promise<RegistryAnswer>((resolve, reject) => {
      const target = new URL(url);
      const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
      const secure = target.protocol === 'https:';
      const headers: Record<string, string | number> =
        payload === null
          ? { authorization: `Bearer ${token}`, accept: 'application/json' }
          : { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': payload.length };
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: payload === null ? 'GET' : 'POST',
          agent: secure ? agents.https : agents.http,
          headers,
          signal,
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            // Drained, not read, so the socket goes back to the pool.
            res.resume();
            res.on('end', () => resolve({ status, json: null }));
            res.on('error', (error) => reject(signal.aborted ? signal.reason : error));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy(new Error('device registry answer too large'));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            let json: unknown = null;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              // Left null: the caller answers "malformed answer".
            }
            resolve({ status, json });
          });
          const cutOff = (error?: Error) => reject(signal.aborted ? signal.reason : (error ?? new Error('device registry answer cut off')));
          res.on('error', cutOff);
          res.on('close', () => {
            if (!res.complete) cutOff();
          });
        },
      );
      req.on('error', (error) => reject(signal.aborted ? signal.reason : error));
      if (payload === null) req.end();
      else req.end(payload);
    });

  return {
    post: (url, token, body, signal) => send(url, token, body, signal),
    get: (url, token, signal) => send(url, token, undefined, signal),
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
