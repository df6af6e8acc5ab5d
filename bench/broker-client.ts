/**
 * One side of a broker benchmark run, in its own process (so the broker under test never shares an
 * event loop with its load): `sub` counts what arrives and measures latency from the send time
 * stamped in each payload; `pub` keeps a fixed number of messages in flight over one or many
 * connections. Spec as JSON in argv[2]; one JSON line on stdout when done.
 */
import mqtt from 'mqtt';
import { performance } from 'node:perf_hooks';

interface Login {
  clientId: string;
  username?: string;
  password?: string;
}
/** protocolVersion: 4 (MQTT 3.1.1) or 5, for every connection of the run. */
type Spec =
  | ({ role: 'sub'; url: string; filter: string; qos: 0 | 1; expected: number; idleMs: number; protocolVersion: 4 | 5 } & Login)
  | { role: 'pub'; url: string; publishers: Array<Login & { topic: string }>; qos: 0 | 1; total: number; inFlight: number; payloadBytes: number; protocolVersion: 4 | 5 };

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
// Wall-clock milliseconds with sub-ms resolution, comparable between processes on one machine.
const now = (): number => performance.timeOrigin + performance.now();
const connect = (url: string, login: Login): Promise<mqtt.MqttClient> =>
  mqtt.connectAsync(url, { ...login, protocolVersion: spec.protocolVersion, clean: true, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60 });

if (spec.role === 'sub') {
  const client = await connect(spec.url, spec);
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
    client.end(true, {}, () => process.exit(0));
  };
  client.on('message', (_topic, payload) => {
    const at = now();
    if (received === 0) firstAt = at;
    lastAt = at;
    if (received < spec.expected) latencies[received] = at - payload.readDoubleLE(0);
    received++;
    clearTimeout(idle);
    if (received >= spec.expected) finish();
    else idle = setTimeout(finish, spec.idleMs);
  });
  await client.subscribeAsync(spec.filter, { qos: spec.qos });
  idle = setTimeout(finish, spec.idleMs * 10);
  console.log(JSON.stringify({ ready: true }));
} else if (spec.role === 'pub') {
  const clients: mqtt.MqttClient[] = [];
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
        // mqtt.js may call back synchronously (QoS 0 into a free socket buffer): yield, or the
        // recursion would grow the stack and starve the socket.
        if (sent < spec.total) setImmediate(sendOne);
        else if (done === spec.total) resolve();
      });
    };
    for (let i = 0; i < Math.min(spec.inFlight, spec.total); i++) sendOne();
  });
  console.log(JSON.stringify({ sent: done, failed }));
  await Promise.all(clients.map((c) => c.endAsync()));
  process.exit(0);
}
