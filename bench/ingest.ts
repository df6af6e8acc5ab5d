/**
 * `npm run bench:ingest [-- --events N --warmup N --latency-seconds S --rate R --stores sqlite,postgres --linger-ms MS]`
 *
 * Measures, in one run and on this machine: the broker alone (publishers -> aedes -> a QoS 1
 * subscriber that does nothing), the store alone (batched RegionStore.insertEvents into fresh
 * stores), and end-to-end ingest (publishers -> aedes -> the server's MQTT source and pipeline ->
 * committed row, QoS 1), then publish -> committed-row latency at a steady rate. Broker and
 * publishers run in a child process (bench/ingest-publisher.ts), as a broker would on its own host.
 * Every throughput phase first pushes `--warmup` events through the same path unmeasured: a server
 * runs warm, and a cold pass would mostly measure the JIT compiling ingest (about half its CPU).
 * Ends with one line per store kind: `store=… e2e_eps=… ceiling_eps=… ratio=… p99_ms=…`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { RegionId } from '../schema/regions.ts';
import { mqttConfigSchema, serverConfigSchema } from '../server/config.ts';
import { ConsentService } from '../server/consent/consent-service.ts';
import { DirectoryCache } from '../server/devices/directory-cache.ts';
import { createIngest } from '../server/ingest/ingest.ts';
import type { IngestMessage } from '../server/ingest/message.ts';
import { createMqttSource, type MqttSource } from '../server/ingest/mqtt-source.ts';
import { IngestStats } from '../server/ingest/stats.ts';
import { createMetrics } from '../server/metrics/metrics.ts';
import { TombstoneCache } from '../server/privacy/tombstones.ts';
import type { StoreKind } from '../server/store/types.ts';
import type { RunRequest } from './ingest-publisher.ts';
import { benchRows, freshStores, postgresReachable, provisionDevices } from './ingest-stores.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '40000' },
    warmup: { type: 'string', default: '5000' },
    'latency-seconds': { type: 'string', default: '5' },
    rate: { type: 'string', default: '2000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    /** Fleet size for the growth rows of `npm run bench` (1x, 4x, 16x). */
    'devices-per-region': { type: 'string', default: '20' },
    /** Overrides ingest.lingerMs (default: the server's), to see what batch size does. */
    'linger-ms': { type: 'string' },
  },
});
const EVENTS = Number(values.events);
const WARMUP = Number(values.warmup);
const LATENCY_SECONDS = Number(values['latency-seconds']);
const RATE = Number(values.rate);
const KINDS = values.stores.split(',') as StoreKind[];
const REGIONS: RegionId[] = ['eu', 'us', 'cn'];
const DEVICES_PER_REGION = Number(values['devices-per-region']);
const PHASE_TIMEOUT_MS = 180_000;
const WINDOW = 1_000;
const logger = pino({ level: 'silent' });
const serverConfig = serverConfigSchema.parse({
  adminToken: 'bench-admin-token-xxxx',
  brokerToken: 'bench-broker-token-xxx',
  regions: REGIONS,
  ingest: values['linger-ms'] === undefined ? {} : { lingerMs: Number(values['linger-ms']) },
});

const child: ChildProcess = fork(fileURLToPath(new URL('./ingest-publisher.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));

interface Published {
  published: number;
  seconds: number;
  /** CPU the broker and publishers used meanwhile. */
  cpuMs: number;
}

function publish(request: Omit<RunRequest, 'cmd'>): Promise<Published> {
  const answer = new Promise<Published>((resolve) => child.once('message', resolve));
  child.send({ cmd: 'run', ...request } satisfies RunRequest);
  return answer;
}

function bounded<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A source on a fresh persistent session; `handle` runs per event, `done` fires after `count` events. */
async function withSource<T>(handle: (m: IngestMessage) => Promise<unknown>, work: () => Promise<T>, opened?: (source: MqttSource) => void): Promise<T> {
  const config = mqttConfigSchema.parse({
    url: `mqtt://127.0.0.1:${port}`,
    username: 'svc-bench',
    password: 'x',
    clientId: `svc-bench-${randomBytes(4).toString('hex')}`,
  });
  const source = createMqttSource(config, { event: handle, state: () => undefined, sessionLost: () => undefined }, logger);
  opened?.(source);
  source.connect();
  await source.whenReady();
  try {
    return await work();
  } finally {
    await source.close();
  }
}

function counter(target: number): { tick(): void; done: Promise<void> } {
  let n = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { tick: () => void (++n === target && finish()), done };
}

/** Events/s, and CPU µs per event of this process (ingest) and of the child (broker + publishers). */
interface Throughput {
  eps: number;
  ingestCpuUs: number;
  brokerCpuUs: number;
}

/** Warms the path up with WARMUP events, then measures EVENTS; `counting(n)` must resolve once `n` more events went through. */
async function measure(what: string, devices: string[], counting: (n: number) => Promise<void>): Promise<Throughput> {
  if (WARMUP > 0) {
    const warmed = counting(WARMUP);
    await publish({ devices, count: WARMUP, rate: 0, window: WINDOW });
    await bounded(`${what} warm-up`, warmed);
  }
  const done = counting(EVENTS);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const published = publish({ devices, count: EVENTS, rate: 0, window: WINDOW });
  await bounded(what, done);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const { cpuMs } = await published;
  return { eps: EVENTS / seconds, ingestCpuUs: (used.user + used.system) / EVENTS, brokerCpuUs: (cpuMs * 1000) / EVENTS };
}

const cpuNote = (t: Throughput): string => `cpu/event: ingest ${t.ingestCpuUs.toFixed(0)} µs, broker+publishers ${t.brokerCpuUs.toFixed(0)} µs`;

async function brokerCeiling(devices: string[]): Promise<Throughput> {
  let count = counter(0);
  return withSource(
    async () => count.tick(),
    () =>
      measure('broker ceiling', devices, (n) => {
        count = counter(n);
        return count.done;
      }),
  );
}

async function storeCeiling(kind: StoreKind): Promise<number> {
  const { stores, drop } = await freshStores(kind, REGIONS, logger);
  try {
    const perRegion = Math.ceil(EVENTS / REGIONS.length);
    const rows = REGIONS.map((region) => benchRows(perRegion, `cm-bench${region}`));
    const started = performance.now();
    await Promise.all(
      REGIONS.map(async (region, r) => {
        const store = stores.regions.get(region)!;
        for (let i = 0; i < perRegion; i += serverConfig.ingest.batchMax) await store.insertEvents(rows[r]!.slice(i, i + serverConfig.ingest.batchMax));
      }),
    );
    return (perRegion * REGIONS.length) / ((performance.now() - started) / 1000);
  } finally {
    await drop();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function endToEnd(kind: StoreKind): Promise<{ throughput: Throughput; refused: number; p50: number; p99: number; latencyEvents: number }> {
  const { stores, drop } = await freshStores(kind, REGIONS, logger);
  try {
    const devices = await provisionDevices(stores, REGIONS, DEVICES_PER_REGION);
    const metrics = createMetrics();
    const consent = new ConsentService(stores.regions, { publish: async () => undefined }, 0, logger);
    let source: MqttSource | undefined;
    const ingest = createIngest({
      config: serverConfig.ingest,
      stores,
      directory: new DirectoryCache(stores.directory),
      consent,
      stats: new IngestStats(REGIONS, metrics),
      metrics,
      logger,
      redeliver: () => source?.reconnect(),
      // The server checks every event against its region's tombstones; so does the bench.
      tombstones: new TombstoneCache(stores.regions),
    });
    let refused = 0;
    let count = counter(0);
    let latencies: number[] | null = null;
    const handle = async (message: IngestMessage): Promise<void> => {
      const outcome = await ingest.handle(message);
      if (outcome.status === 'refused') refused++;
      if (latencies) latencies.push(Date.now() - Date.parse((JSON.parse(message.payload.toString()) as { ts: string }).ts));
      count.tick();
    };
    try {
      return await withSource(
        handle,
        async () => {
          const throughput = await measure(`${kind} end-to-end`, devices, (n) => {
            count = counter(n);
            return count.done;
          });
          const latencyEvents = RATE * LATENCY_SECONDS;
          count = counter(latencyEvents);
          latencies = [];
          await publish({ devices, count: latencyEvents, rate: RATE, window: WINDOW });
          await bounded(`${kind} latency`, count.done);
          const sorted = latencies.sort((a, b) => a - b);
          return { throughput, refused, p50: percentile(sorted, 50), p99: percentile(sorted, 99), latencyEvents };
        },
        (opened) => (source = opened),
      );
    } finally {
      await ingest.close();
    }
  } finally {
    await drop();
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [];
const summaries: string[] = [];
try {
  const fakeDevices = REGIONS.flatMap((r) => Array.from({ length: DEVICES_PER_REGION }, (_, i) => `cm-ceiling${r}${i}`));
  const broker = await brokerCeiling(fakeDevices);
  rows.push(['broker alone (QoS 1, no-op subscriber)', '-', fmt(broker.eps), cpuNote(broker)]);
  for (const kind of KINDS) {
    if (kind === 'postgres' && !(await postgresReachable())) {
      rows.push([`${kind}`, kind, 'skipped', 'PostgreSQL at 127.0.0.1:5432 not reachable']);
      continue;
    }
    const store = await storeCeiling(kind);
    rows.push([`store alone (insertEvents x${serverConfig.ingest.batchMax}, ${REGIONS.length} regions)`, kind, fmt(store), '']);
    const e2e = await endToEnd(kind);
    const ceiling = Math.min(broker.eps, store);
    const eps = e2e.throughput.eps;
    const ratio = eps / ceiling;
    rows.push([
      'end-to-end (publish -> committed row, QoS 1)',
      kind,
      fmt(eps),
      `ratio ${ratio.toFixed(2)} of ${fmt(ceiling)}; ${cpuNote(e2e.throughput)}${e2e.refused ? `; ${e2e.refused} REFUSED` : ''}`,
    ]);
    rows.push([`latency at ${fmt(RATE)}/s, ${fmt(e2e.latencyEvents)} events`, kind, '', `p50 ${e2e.p50} ms, p99 ${e2e.p99} ms`]);
    summaries.push(`store=${kind} e2e_eps=${Math.round(eps)} ceiling_eps=${Math.round(ceiling)} ratio=${ratio.toFixed(2)} p50_ms=${e2e.p50} p99_ms=${e2e.p99}`);
  }
} finally {
  child.send({ cmd: 'stop' });
}

const header = ['measurement', 'store', 'events/s', 'notes'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]): string =>
  cells
    .map((c, i) => c.padEnd(widths[i]!))
    .join('  ')
    .trimEnd();
console.log(
  `bench:ingest  ${fmt(EVENTS)} events per throughput phase after ${fmt(WARMUP)} to warm up, ${REGIONS.length} regions x ${DEVICES_PER_REGION} devices, batchMax ${serverConfig.ingest.batchMax}, lingerMs ${serverConfig.ingest.lingerMs}`,
);
console.log(line(header));
for (const row of rows) console.log(line(row));
for (const summary of summaries) console.log(summary);
