/**
 * One side of a broker benchmark run, in its own process (so the broker under test never shares an
 * event loop with its load): `sub` counts what arrives and measures latency from the send time
 * stamped in each payload; `pub` keeps a fixed number of messages in flight over one or many
 * connections, on mqtt-wire's client (the same client against both brokers). Spec as JSON in
 * argv[2]; one JSON line on stdout when done.
 */
import { performance } from 'node:perf_hooks';
import { MqttClient } from '../mqtt-wire/client.ts';
import type { IncomingPublish } from '../mqtt-wire/packets.ts';

interface Login {
  clientId: string;
  username?: string;
  password?: string;
}
/** protocolVersion: 4 (MQTT 3.1.1) or 5, for every connection of the run. */
type Spec =
  | ({ role: 'sub'; url: string; filter: string; qos: 0 | 1; expected: number; idleMs: number; protocolVersion: 4 | 5 } & Login)
  | {
      role: 'pub';
      url: string;
      publishers: Array<Login & { topic: string }>;
      qos: 0 | 1;
      total: number;
      inFlight: number;
      payloadBytes: number;
      protocolVersion: 4 | 5;
    };

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
// Wall-clock milliseconds with sub-ms resolution, comparable between processes on one machine.
const now = (): number => performance.timeOrigin + performance.now();
const connect = (url: string, login: Login, message: (publish: IncomingPublish) => void = () => undefined): Promise<MqttClient> =>
  new Promise((resolve, reject) => {
    const client: MqttClient = new MqttClient(
      { url, ...login, protocolVersion: spec.protocolVersion, clean: true, keepaliveS: 60, connectTimeoutMs: 10_000 },
      { connect: () => resolve(client), close: () => reject(new Error(`${login.clientId}: connection closed`)), error: reject, message },
    );
    client.open();
  });
const end = (client: MqttClient): Promise<void> => new Promise((resolve) => client.end(false, resolve));

if (spec.role === 'sub') {
  // Set below, before the subscription that makes messages arrive.
  let onMessage: (publish: IncomingPublish) => void = () => undefined;
  const client = await connect(spec.url, spec, (publish) => onMessage(publish));
  const latencies = new Float64Array(spec.expected);
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let idle: NodeJS.Timeout | undefined;
  const finish = (): void => {
    clearTimeout(idle);
    const sorted = latencies.subarray(0, Math.min(received, spec.expected)).sort();
    const pick = (q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const seconds = (lastAt - firstAt) / 1000;
    console.log(JSON.stringify({ received, eps: seconds > 0 ? (received - 1) / seconds : 0, p50: pick(0.5), p99: pick(0.99) }));
    client.end(true, () => process.exit(0));
  };
  onMessage = ({ payload }) => {
    const at = now();
    if (received === 0) firstAt = at;
    lastAt = at;
    if (received < spec.expected) latencies[received] = at - payload.readDoubleLE(0);
    received++;
    clearTimeout(idle);
    if (received >= spec.expected) finish();
    else idle = setTimeout(finish, spec.idleMs);
  };
  await new Promise<void>((resolve, reject) => client.subscribe([{ topic: spec.filter, qos: spec.qos }], (error) => (error ? reject(error) : resolve())));
  idle = setTimeout(finish, spec.idleMs * 10);
  console.log(JSON.stringify({ ready: true }));
} else if (spec.role === 'pub') {
  const clients: MqttClient[] = [];
  for (let i = 0; i < spec.publishers.length; i += 20) {
    clients.push(...(await Promise.all(spec.publishers.slice(i, i + 20).map((p) => connect(spec.url, p)))));
  }
  const payload = Buffer.alloc(spec.payloadBytes, 0x61);
  let sent = 0;
  let done = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const sendOne = (): void => {
      // Several callbacks may queue a send before any of them runs; only `total` may go out.
      if (sent >= spec.total) return;
      const index = sent % clients.length;
      sent++;
      const body = Buffer.from(payload);
      body.writeDoubleLE(now(), 0);
      clients[index]!.publish(spec.publishers[index]!.topic, body, { qos: spec.qos }, (error) => {
        if (error) failed++;
        done++;
        // A callback may come synchronously: yield, or the
        // recursion would grow the stack and starve the socket.
        if (sent < spec.total) setImmediate(sendOne);
        else if (done === spec.total) resolve();
      });
    };
    for (let i = 0; i < Math.min(spec.inFlight, spec.total); i++) sendOne();
  });
  console.log(JSON.stringify({ sent: done, failed }));
  await Promise.all(clients.map(end));
  process.exit(0);
}
