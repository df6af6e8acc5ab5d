/**
 * Our broker for bench/broker.ts, in its own process, exactly as deployed: device authentication
 * through a real HTTP registry and the deny-by-default ACL on. Only the per-client publish rate is
 * raised, since a benchmark publisher is a flood by design. Prints `ready <mqtt url>` on stdout.
 */
import { pino } from 'pino';
import { startBroker } from '../broker/broker.ts';
import { startDeviceRegistry } from '../test/broker/support.ts';

const devices = Number(process.argv[2] ?? '100');
const ingest = { username: 'svc-bench', password: 'bench-password-0123456789', role: 'ingest' as const };
const registry = await startDeviceRegistry(
  Object.fromEntries(Array.from({ length: devices }, (_, i) => [benchDeviceId(i), { secret: `secret-${i}`, region: 'eu' }])),
);
const broker = await startBroker(
  {
    host: '127.0.0.1',
    tcpPort: 0,
    wsPort: null,
    serviceAccounts: [ingest],
    deviceAuth: { url: registry.url, token: registry.token },
    limits: { publishPerSecond: 1_000_000, publishBurst: 1_000_000 },
    logLevel: 'warn',
  },
  pino({ level: 'warn' }, pino.destination(2)),
);
console.log(`ready ${broker.mqttUrl}`);
const stop = (): void => {
  void broker
    .close()
    .then(() => registry.close())
    .then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

function benchDeviceId(i: number): string {
  return `bench-dev-${String(i).padStart(3, '0')}`;
}
