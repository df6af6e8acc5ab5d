/**
 * Child process of bench/ingest.ts: an in-process aedes (the broker the tests use) plus the
 * publishers, so broker and devices get a core of their own and the parent measures ingest alone.
 * IPC: sends { port } when listening; answers { cmd: 'run' } with { published, seconds }.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { MqttClient } from '../mqtt-wire/client.ts';
import { topics } from '../schema/topics.ts';
import { uuidv7 } from './ingest-event-ids.ts';

export interface RunRequest {
  cmd: 'run';
  devices: string[];
  count: number;
  /** Events per second; 0 publishes flat out with `window` unacknowledged at a time. */
  rate: number;
  window: number;
}

const BODY = { recipe: 'espresso', doseG: 18, waterMl: 40, milkMl: 0, waterTempC: 92.5, pressureBar: 9, durationMs: 27_000, outcome: 'ok' };

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const PUBLISHERS = 2;
const publishers: MqttClient[] = await Promise.all(
  Array.from(
    { length: PUBLISHERS },
    (_, i) =>
      new Promise<MqttClient>((resolve, reject) => {
        const client: MqttClient = new MqttClient(
          { url: `mqtt://127.0.0.1:${port}`, clientId: `bench-pub-${i}`, clean: true, keepaliveS: 60, connectTimeoutMs: 10_000 },
          { connect: () => resolve(client), close: () => undefined, error: reject, message: () => undefined },
        );
        client.open();
      }),
  ),
);
const seqs = new Map<string, number>();

function publishOne(client: MqttClient, deviceId: string, done: () => void): void {
  const seq = (seqs.get(deviceId) ?? 0) + 1;
  seqs.set(deviceId, seq);
  const now = Date.now();
  const event = { v: 1, id: uuidv7(now), deviceId, ts: new Date(now).toISOString(), seq, kind: 'brew', consentVersion: 1, body: BODY };
  client.publish(topics.event(deviceId, 'brew'), JSON.stringify(event), { qos: 1 }, () => done());
}

async function run(request: RunRequest): Promise<{ published: number; seconds: number; cpuMs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve) => {
    const next = (): void => {
      const i = sent++;
      publishOne(publishers[i % PUBLISHERS]!, request.devices[i % request.devices.length]!, onAck);
    };
    const onAck = (): void => {
      acked++;
      if (acked === request.count) resolve();
      else if (request.rate === 0 && sent < request.count) next();
    };
    if (request.rate === 0) {
      while (sent < Math.min(request.window, request.count)) next();
      return;
    }
    const tickMs = 5;
    const timer = setInterval(() => {
      const due = Math.min(request.count, Math.floor(((performance.now() - started) / 1000) * request.rate));
      while (sent < due) next();
      if (sent >= request.count) clearInterval(timer);
    }, tickMs);
  });
  const used = process.cpuUsage(cpu);
  return { published: acked, seconds: (performance.now() - started) / 1000, cpuMs: (used.user + used.system) / 1000 };
}

process.on('message', (message: RunRequest | { cmd: 'stop' }) => {
  if (message.cmd === 'stop') {
    void Promise.all(publishers.map((p) => new Promise<void>((resolve) => p.end(true, resolve))))
      .then(() => new Promise<void>((resolve) => broker.close(() => resolve())))
      .then(() => server.close(() => process.exit(0)));
    return;
  }
  void run(message).then((result) => process.send?.(result));
});
process.send?.({ port });
