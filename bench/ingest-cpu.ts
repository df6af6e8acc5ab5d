/**
 * `npm run bench:ingest-cpu [-- --events N --stores sqlite,postgres --linger-ms MS --mqtt-version 3.1.1|5 --devices-per-region N]`
 *
 * CPU cost per event of the ingest hot path, stage by stage, measured with process.cpuUsage() in this
 * process: on a shared machine wall-clock throughput is noise, CPU time per event is not (much). Each
 * stage runs three times and the lowest figure counts (interference only ever adds). A baseline (a
 * JSON round trip of the same payloads) runs in the same process, so runs on different machines or
 * under different load compare by the `x baseline` column.
 *
 * Stages: the pipeline steps one by one, then up to the row (no I/O), the store write alone
 * (RegionStore.insertEvents in batches of batchMax), ingest.handle end to end without MQTT, and the
 * MQTT source (aedes and publishers in a child process, as in bench/ingest.ts) with a no-op handler
 * and with ingest behind it, flat out and at 2,000 events/s. Ends with `baseline_us=… pipeline_us=… … e2e_<store>_us=…`.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { protocolLevelOf } from '../mqtt-wire/codes.ts';
import type { RegionId } from '../schema/regions.ts';
import { topics } from '../schema/topics.ts';
import { mqttConfigSchema, serverConfigSchema } from '../server/config.ts';
import { ConsentService } from '../server/consent/consent-service.ts';
import { DirectoryCache } from '../server/devices/directory-cache.ts';
import { createIngest, type Ingest } from '../server/ingest/ingest.ts';
import type { IngestContext, IngestMessage } from '../server/ingest/message.ts';
import { createMqttSource } from '../server/ingest/mqtt-source.ts';
import { runPipeline, type Step } from '../server/ingest/pipeline.ts';
import { IngestStats } from '../server/ingest/stats.ts';
import { consent } from '../server/ingest/steps/consent.ts';
import { decode } from '../server/ingest/steps/decode.ts';
import { identify } from '../server/ingest/steps/identify.ts';
import { minimise } from '../server/ingest/steps/minimise.ts';
import { route } from '../server/ingest/steps/route.ts';
import { validate } from '../server/ingest/steps/validate.ts';
import { createMetrics } from '../server/metrics/metrics.ts';
import { TombstoneCache } from '../server/privacy/tombstones.ts';
import type { StoreKind, Stores } from '../server/store/types.ts';
import { uuidv7 } from './ingest-event-ids.ts';
import type { RunRequest } from './ingest-publisher.ts';
import { benchRows, freshStores, postgresReachable, provisionDevices } from './ingest-stores.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    /** Overrides ingest.lingerMs (default: the server's), to see what batch size does to the cost. */
    'linger-ms': { type: 'string' },
    /** The ingest session's MQTT version (default: the server's, 5). */
    'mqtt-version': { type: 'string' },
    /** Devices per region the events come from: at fleet scale each row lands on its own device's index pages. */
    'devices-per-region': { type: 'string', default: '20' },
  },
});
const MQTT_VERSION = values['mqtt-version'] === undefined ? undefined : protocolLevelOf(values['mqtt-version']);
if (values['mqtt-version'] !== undefined && MQTT_VERSION === undefined) throw new Error('--mqtt-version is 3.1.1 or 5');
const EVENTS = Number(values.events);
const KINDS = values.stores.split(',') as StoreKind[];
const REGIONS: RegionId[] = ['eu', 'us', 'cn'];
const DEVICES_PER_REGION = Number(values['devices-per-region']);
if (!Number.isInteger(DEVICES_PER_REGION) || DEVICES_PER_REGION < 1) throw new Error('--devices-per-region is a whole number of at least 1');
const REPEATS = 3;
const WINDOW = 1_000;
const RATE = 2_000;
const RATE_SECONDS = 2;
const logger = pino({ level: 'silent' });
const serverConfig = serverConfigSchema.parse({
  adminToken: 'bench-admin-token-xxxx',
  brokerToken: 'bench-broker-token-xxx',
  regions: REGIONS,
  ingest: values['linger-ms'] === undefined ? {} : { lingerMs: Number(values['linger-ms']) },
});
const BODY = { recipe: 'espresso', doseG: 18, waterMl: 40, milkMl: 0, waterTempC: 92.5, pressureBar: 9, durationMs: 27_000, outcome: 'ok' };

/** Fresh messages every call: ids must be new, or the store write would measure duplicates. */
function messages(devices: readonly string[], count: number): IngestMessage[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const deviceId = devices[i % devices.length]!;
    const event = { v: 1, id: uuidv7(now + i), deviceId, ts: new Date(now + i).toISOString(), seq: i + 1, kind: 'brew', consentVersion: 1, body: BODY };
    return { topic: topics.event(deviceId, 'brew'), payload: Buffer.from(JSON.stringify(event)), receivedAt: new Date() };
  });
}

const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** µs of CPU per item, the lowest of REPEATS runs; `prepare` (not measured) makes each run's input. */
async function perItem<T>(prepare: () => Promise<T> | T, run: (input: T) => Promise<void> | void, items: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const input = await prepare();
    const started = cpuNow();
    await run(input);
    best = Math.min(best, (cpuNow() - started) / items);
  }
  return best;
}

/** Each context carries what the steps before `upTo` found, so a step can be measured on its own. */
async function contextsBefore(steps: readonly Step[], upTo: number, input: readonly IngestMessage[]): Promise<IngestContext[]> {
  const contexts: IngestContext[] = input.map((message) => ({ message }));
  for (const ctx of contexts) {
    for (const step of steps.slice(0, upTo)) if (await step.run(ctx)) throw new Error(`bench message refused by ${step.name}`);
  }
  return contexts;
}

interface Row {
  stage: string;
  store: string;
  us: number;
}
const results: Row[] = [];
const record = (stage: string, store: string, us: number): void => void results.push({ stage, store, us });

async function pipelineStages(stores: Stores, devices: readonly string[]): Promise<void> {
  const directory = new DirectoryCache(stores.directory);
  const consentService = new ConsentService(stores.regions, { publish: async () => undefined }, 0, logger);
  // From memory when cached, as ingest asks (ingest.ts), so a hit costs what it costs there.
  const ledger = (id: string, region: string) => consentService.cachedLedger(id) ?? consentService.ledger(id, region);
  const steps: Step[] = [
    decode,
    validate(ledger),
    identify((id) => directory.cached(id) ?? directory.lookup(id)),
    route((region) => stores.regions.has(region)),
    consent(ledger),
    minimise,
  ];
  // Warm the caches the server keeps warm in steady state.
  await contextsBefore(steps, steps.length, messages(devices, devices.length));

  record(
    'baseline: JSON round trip of the payload',
    '-',
    await perItem(
      () => messages(devices, EVENTS),
      (input) => {
        for (const m of input) JSON.stringify(JSON.parse(m.payload.toString('utf8')));
      },
      EVENTS,
    ),
  );
  for (const [i, step] of steps.entries()) {
    record(
      `step ${step.name}`,
      '-',
      await perItem(
        () => contextsBefore(steps, i, messages(devices, EVENTS)),
        async (contexts) => {
          for (const ctx of contexts) await step.run(ctx);
        },
        EVENTS,
      ),
    );
  }
  record(
    'pipeline up to the row (runPipeline, no admit/write)',
    '-',
    await perItem(
      () => messages(devices, EVENTS),
      async (input) => {
        for (const message of input) await runPipeline(steps, { message }, logger);
      },
      EVENTS,
    ),
  );
}

async function storeWrite(stores: Stores): Promise<number> {
  const perRegion = Math.ceil(EVENTS / REGIONS.length);
  const { batchMax } = serverConfig.ingest;
  return perItem(
    () => REGIONS.map((region) => benchRows(perRegion, `cm-bench${region}${randomUUID().slice(0, 8)}`)),
    async (rows) => {
      await Promise.all(
        REGIONS.map(async (region, r) => {
          const store = stores.regions.get(region)!;
          for (let i = 0; i < perRegion; i += batchMax) await store.insertEvents(rows[r]!.slice(i, i + batchMax));
        }),
      );
    },
    perRegion * REGIONS.length,
  );
}

/** Feeds ingest.handle with WINDOW messages outstanding, as the MQTT source does. */
async function handleAll(ingest: Ingest, input: readonly IngestMessage[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < input.length) {
      const outcome = await ingest.handle(input[next++]!);
      if (outcome.status !== 'stored') throw new Error(`bench event refused: ${outcome.reason}`);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
}

const child = fork(fileURLToPath(new URL('./ingest-publisher.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
const brokerPort = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
function publish(devices: string[], count: number, rate: number): Promise<unknown> {
  const answer = new Promise<unknown>((resolve) => child.once('message', resolve));
  child.send({ cmd: 'run', devices, count, rate, window: WINDOW } satisfies RunRequest);
  return answer;
}

/**
 * CPU of this process per event that came through the MQTT source into `handle`, published flat out
 * or at `rate` per second (where batches are small, so what is paid per batch and per wake-up shows).
 */
async function viaSource(devices: string[], handle: (m: IngestMessage) => Promise<unknown>, rate = 0): Promise<number> {
  const count = rate === 0 ? EVENTS : Math.min(EVENTS, rate * RATE_SECONDS);
  const config = mqttConfigSchema.parse({
    url: `mqtt://127.0.0.1:${brokerPort}`,
    username: 'svc-bench',
    password: 'x',
    clientId: `svc-bench-${randomBytes(4).toString('hex')}`,
    ...(MQTT_VERSION === undefined ? {} : { protocolVersion: MQTT_VERSION }),
  });
  let seen = 0;
  let target = 0;
  let finish: () => void = () => undefined;
  const source = createMqttSource(
    config,
    {
      event: async (m) => {
        await handle(m);
        if (++seen === target) finish();
      },
      state: () => undefined,
      sessionLost: () => undefined,
    },
    logger,
  );
  source.connect();
  await source.whenReady();
  try {
    return await perItem(
      () => undefined,
      async () => {
        seen = 0;
        target = count;
        const done = new Promise<void>((resolve) => (finish = resolve));
        await Promise.all([publish(devices, count, rate), done]);
      },
      count,
    );
  } finally {
    await source.close();
  }
}

try {
  record(
    'MQTT source, no-op handler',
    '-',
    await viaSource(
      REGIONS.map((r) => `cm-ceiling${r}`),
      async () => undefined,
    ),
  );
  for (const kind of KINDS) {
    if (kind === 'postgres' && !(await postgresReachable())) {
      console.log('postgres skipped: PostgreSQL at 127.0.0.1:5432 not reachable');
      continue;
    }
    const { stores, drop } = await freshStores(kind, REGIONS, logger);
    try {
      const devices = await provisionDevices(stores, REGIONS, DEVICES_PER_REGION);
      if (kind === KINDS[0]) await pipelineStages(stores, devices);
      record(`store write alone (insertEvents x${serverConfig.ingest.batchMax})`, kind, await storeWrite(stores));
      const metrics = createMetrics();
      const ingest = createIngest({
        config: serverConfig.ingest,
        stores,
        directory: new DirectoryCache(stores.directory),
        consent: new ConsentService(stores.regions, { publish: async () => undefined }, 0, logger),
        stats: new IngestStats(REGIONS, metrics),
        metrics,
        logger,
        // The server checks every event against its region's tombstones; so does the bench.
        tombstones: new TombstoneCache(stores.regions),
      });
      try {
        await handleAll(ingest, messages(devices, devices.length));
        record(
          'ingest.handle: pipeline + group commit',
          kind,
          await perItem(
            () => messages(devices, EVENTS),
            (input) => handleAll(ingest, input),
            EVENTS,
          ),
        );
        record('MQTT source + ingest.handle (PUBACK after commit)', kind, await viaSource(devices, (m) => ingest.handle(m)));
        record(`same at ${RATE.toLocaleString('en-US')} events/s`, kind, await viaSource(devices, (m) => ingest.handle(m), RATE));
      } finally {
        await ingest.close();
      }
    } finally {
      await drop();
    }
  }
} finally {
  child.send({ cmd: 'stop' });
}

const baseline = results.find((r) => r.stage.startsWith('baseline'))?.us ?? NaN;
const header = ['stage', 'store', 'cpu µs/event', 'x baseline'];
const cells = results.map((r) => [r.stage, r.store, r.us.toFixed(1), (r.us / baseline).toFixed(1)]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
const line = (c: string[]): string =>
  c
    .map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
console.log(
  `bench:ingest-cpu  ${EVENTS.toLocaleString('en-US')} events per stage, best of ${REPEATS}, ${REGIONS.length} regions x ${DEVICES_PER_REGION} devices, batchMax ${serverConfig.ingest.batchMax}, lingerMs ${serverConfig.ingest.lingerMs}`,
);
console.log(line(header));
for (const c of cells) console.log(line(c));
const key = (r: Row): string | undefined => {
  if (r.stage.startsWith('baseline')) return 'baseline_us';
  if (r.stage.startsWith('pipeline')) return 'pipeline_us';
  if (r.stage.startsWith('MQTT source, no-op')) return 'source_us';
  if (r.stage.startsWith('store write')) return `write_${r.store}_us`;
  if (r.stage.startsWith('ingest.handle')) return `handle_${r.store}_us`;
  if (r.stage.startsWith('MQTT source +')) return `e2e_${r.store}_us`;
  if (r.stage.startsWith('same at')) return `e2e_${RATE}_${r.store}_us`;
  return undefined;
};
const protocol = (MQTT_VERSION ?? mqttConfigSchema.shape.protocolVersion.parse(undefined)) === 5 ? '5' : '3.1.1';
console.log([...results.flatMap((r) => (key(r) ? [`${key(r)}=${r.us.toFixed(1)}`] : [])), `mqtt_version=${protocol}`].join(' '));
