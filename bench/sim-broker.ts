/**
 * The broker for bench/sim.ts, in its own process so its memory is not counted against the fleet:
 * a plain aedes on loopback with our broker's default Topic Alias Maximum (so MQTT 5 machines alias
 * their topics, as they would with ours), holding a retained all-categories consent record for every
 * bench machine (compliant firmware publishes nothing without one). Counts the events it receives.
 * Talks to its parent over IPC: `{ ready: url }` once listening, `{ received: n }` when asked with 'stats'.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { brokerOptionsSchema } from '../broker/config.ts';
import { benchDeviceId } from './sim-machines.ts';

const machines = Number(process.argv[2] ?? '0');
const prefix = process.argv[3] ?? 'cm-bench';

const broker = await Aedes.createBroker({ topicAliasMaximum: brokerOptionsSchema.parse({}).limits.topicAliasMaximum });
let received = 0;
broker.on('publish', (packet, client) => {
  if (client && packet.topic.includes('/evt/')) received++;
});
const issuedAt = new Date().toISOString();
for (let i = 0; i < machines; i++) {
  const deviceId = benchDeviceId(prefix, i);
  const record = { deviceId, version: 1, issuedAt, categories: { usage: true, location: 'coarse', payment: true, diagnostics: true } };
  await new Promise<void>((resolve) =>
    broker.publish(
      { cmd: 'publish', topic: `coffee/v1/${deviceId}/consent`, payload: Buffer.from(JSON.stringify(record)), qos: 1, retain: true, dup: false },
      () => resolve(),
    ),
  );
}
const server = createServer({ noDelay: true }, broker.handle);
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
await once(server, 'listening');
process.send?.({ ready: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}` });

process.on('message', (message) => {
  if (message === 'stats') process.send?.({ received });
});
process.on('disconnect', () => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
});
