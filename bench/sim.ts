/**
 * `npm run bench:sim`: memory and event rate of the firmware simulator. N machines in this process,
 * each with its own MQTT connection, against a broker in a child process (its memory is not ours):
 * a private Mosquitto by default (it keeps up with the fleet), or our aedes (`--broker aedes`).
 * Bounded: a deadline on connecting, a fixed steady window. Baselines from the same run: this
 * process's RSS before the fleet exists (for MB per machine), one bare connection publishing QoS 1
 * flat out to the same broker (the single-connection ceiling), and for the bytes topic aliases save,
 * half the fleet without them: the fleet is two halves of twin machines (machine i of each half
 * behaves the same), one with MQTT 5 topic aliases (the simulator's default), one without, in the
 * same window; MQTT bytes the machines wrote per event acknowledged are reported for each.
 * Ends with `machines=… rss_mb=… mb_per_machine=… events_per_s=…` plus further key=value pairs.
 *   npm run bench:sim -- [--machines 500] [--seconds 15] [--speed X (default: about 30,000 events/s offered)] [--connect-concurrency 200] [--broker mosquitto|aedes] [--mqtt-version 3.1.1|5 (default 5, as the simulator's)]
 *   full form: npm run bench:sim -- --machines 10000 --seconds 60
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { limitHeapGrowth, SIMULATOR_HEAP_GROWING_PERCENT } from '../cli/heap-growth.ts';
import { startFleet, type Fleet, type FleetStats, type MachineIdentity } from '../firmware-sim/fleet.ts';
import { DEFAULT_FLEET_BACKLOG } from '../firmware-sim/fleet-options.ts';
import { DEFAULT_MQTT_VERSION, mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import { openBenchLink } from './sim-client.ts';
import { benchDeviceId } from './sim-machines.ts';
import { startMosquittoChild, type BenchBroker } from './sim-mosquitto.ts';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '15' },
    speed: { type: 'string' },
    'connect-concurrency': { type: 'string', default: '200' },
    broker: { type: 'string', default: 'mosquitto' },
    'mqtt-version': { type: 'string' },
  },
});
const MQTT_VERSION = values['mqtt-version'] === undefined ? DEFAULT_MQTT_VERSION : mqttVersionSchema.parse(values['mqtt-version']);
const MACHINES = Number(values.machines);
const SECONDS = Number(values.seconds);
// A mixed fleet starting Monday 06:00 UTC averages about eight events per machine per simulated hour,
// so this speed offers roughly 30,000 events/s whatever the fleet size: more than the 20,000/s target,
// without a big fleet offering several times what one process can send (its buffers would fill and
// measure backlog, not the simulator).
const OFFERED_EPS = 30_000;
// The fleet accepts at most 1,000,000x; a tiny fleet cannot offer the target rate anyway.
const SPEED = Number(values.speed ?? Math.min(1_000_000, Math.max(1, Math.round((OFFERED_EPS * 3_600) / (8 * MACHINES)))));
const CONNECT_CONCURRENCY = Number(values['connect-concurrency']);
const CONNECT_DEADLINE_MS = 180_000;
const CEILING_MS = 3_000;
const SAMPLE_EVERY_MS = 250;
/** Monday 2026-11-30 06:00 UTC: European machines are switching on. */
const START_AT = Date.UTC(2026, 10, 30, 6);
const PREFIX = 'cm-bench';
// Compiled by sim-launch.ts into another folder, it learns where the bench sources are from there.
const here = process.env.BREWTEL_BENCH_DIR ?? new URL('.', import.meta.url).pathname;
const mb = (bytes: number): number => bytes / 1024 / 1024;

for (const [name, value] of [
  ['machines', MACHINES],
  ['seconds', SECONDS],
  ['speed', SPEED],
  ['connect-concurrency', CONNECT_CONCURRENCY],
] as const) {
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`--${name} must be a positive number`);
}

if (values.broker !== 'mosquitto' && values.broker !== 'aedes') throw new Error('--broker is mosquitto or aedes');

async function startAedesChild(): Promise<BenchBroker> {
  const child = fork(join(here, 'sim-broker.ts'), [String(MACHINES), PREFIX], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await Promise.race([once(child, 'message'), sleep(60_000).then(() => [null])])) as [{ ready?: string } | null];
  if (!message?.ready) throw new Error('the broker child did not come up within 60 s');
  return {
    name: 'aedes',
    url: message.ready,
    async received() {
      child.send('stats');
      const [answer] = (await Promise.race([once(child, 'message'), sleep(5_000).then(() => [{ received: -1 }])])) as [{ received: number }];
      return answer.received;
    },
    async stop() {
      child.disconnect();
      await Promise.race([once(child, 'exit'), sleep(5_000)]);
    },
  };
}

/** One bare connection publishing QoS 1 as fast as the broker acknowledges, with a bounded window in flight. */
async function ceiling(url: string): Promise<number> {
  const { link, close } = await openBenchLink(url, `${PREFIX}-ceiling-${process.pid}`);
  const payload = JSON.stringify({
    v: 1,
    id: '0192f0c8-0000-7000-8000-000000000000',
    deviceId: `${PREFIX}-ceiling`,
    ts: new Date(START_AT).toISOString(),
    seq: 0,
    kind: 'status',
    consentVersion: 1,
    body: { phase: 'idle', waterTankMl: 1200, beansG: 300, milkMl: 800, groundsBinCount: 3, cupsUntilDescale: 120, boilerTempC: 93.1 },
  });
  const deadline = performance.now() + CEILING_MS;
  let acked = 0;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < 500 && performance.now() < deadline) {
        inFlight++;
        link.publish(`coffee/v1/${PREFIX}-ceiling/evt/status`, payload, { qos: 1 }, () => {
          inFlight--;
          acked++;
          if (performance.now() < deadline) pump();
          else if (inFlight === 0) resolve();
        });
      }
    };
    pump();
  });
  await close();
  return acked / (CEILING_MS / 1000);
}

/** The two halves of the bench fleet, counted together: what one fleet of MACHINES would report. */
function bothHalves(
  halves: readonly Fleet[],
): Pick<FleetStats, 'connected' | 'published' | 'failed' | 'pending' | 'buffered' | 'bufferedBytes' | 'dropped' | 'droppedFleetBacklog'> {
  const sum = { connected: 0, published: 0, failed: 0, pending: 0, buffered: 0, bufferedBytes: 0, dropped: 0, droppedFleetBacklog: 0 };
  for (const half of halves) {
    const stats = half.stats();
    for (const key of Object.keys(sum) as Array<keyof typeof sum>) sum[key] += stats[key];
  }
  return sum;
}

/** MQTT bytes a half wrote per event acknowledged between two snapshots of its stats. */
function bytesPerEvent(before: FleetStats, after: FleetStats): number {
  const events = after.published - before.published;
  return events > 0 ? (after.bytesWritten - before.bytesWritten) / events : Number.NaN;
}

async function waitConnected(halves: readonly Fleet[]): Promise<number> {
  const started = performance.now();
  while (bothHalves(halves).connected < MACHINES) {
    if (performance.now() - started > CONNECT_DEADLINE_MS) break;
    await sleep(200);
  }
  return (performance.now() - started) / 1000;
}

const table: Array<[string, string]> = [];
const row = (name: string, value: string | number): void => {
  table.push([name, String(value)]);
  process.stderr.write(`  ${name}: ${value}\n`);
};

// The fleet runs as under `npm run sim` (firmware-sim/cli.ts), whose memory is what this measures.
limitHeapGrowth(SIMULATOR_HEAP_GROWING_PERCENT);
const broker = values.broker === 'aedes' ? await startAedesChild() : await startMosquittoChild(MACHINES, PREFIX);
let halves: Fleet[] = [];
try {
  row('broker (child process)', broker.name);
  // Collected first (node runs with --expose-gc under `npm run bench:sim`), so seeding garbage is not baseline.
  (globalThis as { gc?: () => void }).gc?.();
  const baselineRss = process.memoryUsage().rss;
  row('baseline RSS (no fleet)', `${mb(baselineRss).toFixed(1)} MB`);
  const machines: MachineIdentity[] = Array.from({ length: MACHINES }, (_, i) => ({ deviceId: benchDeviceId(PREFIX, i), secret: 'bench', region: 'eu' }));
  // Twins: position i of each half gets the same index, hence the same behaviour. Started in the same
  // turn, both halves' simulated clocks show the same time.
  const twinsFrom = Math.ceil(MACHINES / 2);
  const startedConnecting = performance.now();
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const startHalf = (list: MachineIdentity[], topicAliases: boolean): Promise<Fleet> =>
    startFleet(
      {
        brokerUrl: broker.url,
        machines: list,
        seed: 1,
        speed: SPEED,
        startAt: START_AT,
        connectConcurrency: Math.ceil(CONNECT_CONCURRENCY / 2),
        mqttVersion: MQTT_VERSION,
        topicAliases,
        drainTimeoutMs: 10_000,
        // Together the halves hold what one fleet's default backlog bound allows.
        backlogMax: Math.ceil(DEFAULT_FLEET_BACKLOG / 2),
      },
      logger,
    );
  halves = await Promise.all([startHalf(machines.slice(0, twinsFrom), true), ...(twinsFrom < MACHINES ? [startHalf(machines.slice(twinsFrom), false)] : [])]);
  const connectS = (performance.now() - startedConnecting) / 1000 + (await waitConnected(halves));
  row('connected', `${bothHalves(halves).connected}/${MACHINES} in ${connectS.toFixed(1)} s`);

  const running = halves;
  const before = bothHalves(running);
  const halvesBefore = running.map((half) => half.stats());
  const windowStart = performance.now();
  let peakRss = 0;
  // Events waiting in offline buffers: above zero the process did not keep up with the simulated clock.
  let peakBacklog = 0;
  let peakBacklogBytes = 0;
  // Events handed to the MQTT client and not yet acknowledged: held as objects until their PUBACK.
  let peakPending = 0;
  const rssSamples: number[] = [];
  while (performance.now() - windowStart < SECONDS * 1000) {
    await sleep(SAMPLE_EVERY_MS);
    const rss = process.memoryUsage().rss;
    rssSamples.push(rss);
    peakRss = Math.max(peakRss, rss);
    const sampled = bothHalves(running);
    peakBacklog = Math.max(peakBacklog, sampled.buffered);
    peakBacklogBytes = Math.max(peakBacklogBytes, sampled.bufferedBytes);
    peakPending = Math.max(peakPending, sampled.pending);
  }
  const after = bothHalves(running);
  const halvesAfter = running.map((half) => half.stats());
  const windowS = (performance.now() - windowStart) / 1000;
  const eventsPerS = (after.published - before.published) / windowS;
  const connectedAtEnd = after.connected;
  await Promise.all(running.map((half) => half.stop()));
  const final = bothHalves(running);
  const [withAliases, withoutAliases] = running.map((_, i) => bytesPerEvent(halvesBefore[i]!, halvesAfter[i]!)) as [number, number | undefined];
  const saving = withoutAliases === undefined ? Number.NaN : 1 - withAliases / withoutAliases;
  const receivedByBroker = await broker.received();
  // After the fleet, so its flat-out publishing does not inflate the fleet's peak memory.
  const ceilingEps = await ceiling(broker.url);
  row('ceiling (1 bare connection, QoS 1, after the fleet)', `${Math.round(ceilingEps)} events/s`);

  const medianRss = [...rssSamples].sort((a, b) => a - b)[Math.floor(rssSamples.length / 2)] ?? peakRss;
  const perMachine = (mb(peakRss) - mb(baselineRss)) / MACHINES;
  row('steady window', `${windowS.toFixed(1)} s at x${SPEED} (${(((windowS * SPEED) / 3_600_000) * 1000).toFixed(1)} simulated h)`);
  row('RSS peak / median', `${mb(peakRss).toFixed(1)} / ${mb(medianRss).toFixed(1)} MB`);
  row('MB per machine (peak - baseline)', perMachine.toFixed(4));
  row('events acknowledged per second', Math.round(eventsPerS));
  row('peak backlog (events waiting for the link)', `${peakBacklog} (${mb(peakBacklogBytes).toFixed(1)} MB encoded)`);
  row('peak in flight (sent, PUBACK not yet in)', peakPending);
  row('ratio to the 1-connection ceiling', (eventsPerS / ceilingEps).toFixed(2));
  row(
    'after stop: published / failed / pending / buffered / dropped',
    `${final.published} / ${final.failed} / ${final.pending} / ${final.buffered} / ${final.dropped}`,
  );
  row('events received by the broker (incl. ceiling run)', receivedByBroker ?? 'not counted by this broker');
  row(`MQTT bytes written per event, topic aliases on (${twinsFrom} machines)`, withAliases.toFixed(1));
  row(`MQTT bytes written per event, topic aliases off (${MACHINES - twinsFrom} twin machines)`, withoutAliases?.toFixed(1) ?? 'no second half');
  row('saved by topic aliases', `${(saving * 100).toFixed(1)} %${MQTT_VERSION === 5 ? '' : ' (3.1.1 has none)'}`);

  console.log('');
  console.log('| measure | value |');
  console.log('| --- | --- |');
  for (const [name, value] of table) console.log(`| ${name} | ${value} |`);
  console.log('');
  console.log(
    `machines=${MACHINES} rss_mb=${mb(peakRss).toFixed(1)} mb_per_machine=${perMachine.toFixed(4)} events_per_s=${Math.round(eventsPerS)} ` +
      `connected=${connectedAtEnd} baseline_rss_mb=${mb(baselineRss).toFixed(1)} ceiling_eps=${Math.round(ceilingEps)} ratio=${(eventsPerS / ceilingEps).toFixed(2)} ` +
      `speed=${SPEED} seconds=${SECONDS} failed=${final.failed} dropped=${final.dropped} dropped_fleet_backlog=${final.droppedFleetBacklog} peak_backlog=${peakBacklog} peak_backlog_mb=${mb(peakBacklogBytes).toFixed(1)} peak_pending=${peakPending} mqtt_version=${MQTT_VERSION === 5 ? '5' : '3.1.1'} ` +
      `bytes_per_event=${withAliases.toFixed(1)} bytes_per_event_no_aliases=${withoutAliases?.toFixed(1) ?? 'nan'} alias_saving_pct=${(saving * 100).toFixed(1)}`,
  );
} finally {
  await Promise.all(halves.map((half) => half.stop()));
  await broker.stop();
}
