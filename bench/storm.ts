/**
 * `npm run bench:storm [-- --machines N] [--mqtt-version 3.1.1|5] [--cpu-prof DIR] [--skip-mosquitto] [--auth-batch-max N]`:
 * a reconnect storm through our own stack. N devices (default 10,000), provisioned through a real
 * server (its own process: HTTP API, registry, ingest), log in with their secrets to our broker (its
 * own process, authentication on, default limits but `--max-connections` N + 64, as `tsx broker/main.ts` runs), each with a
 * persistent session (v5: session expiry a day). The broker is killed (SIGKILL) and started again on
 * the same port; the devices come back with their jittered backoff (mqtt-wire/backoff.ts). Measured:
 * - reconnect_s: from the new broker listening until every device is connected again (goal < 20 s);
 * - p99_connect_ms: the 99th percentile of the devices' last login, CONNECT to CONNACK;
 * - broker_us_per_login: the broker process's CPU from listening until all are back, per device;
 *   server_us_per_login and devices_us_per_login: the same window's CPU of the server process (the
 *   registry's checks, ingest of the devices' `online` states, consent sent again) and of this
 *   process (the devices' side), so it shows which of the three held up a slow storm;
 * - verify_us: login verification CPU per device (goal < 200 µs): the broker's verifier
 *   (broker/device-verifier.ts, cache off) asking the server's registry for every device once, this
 *   process's CPU plus the server's, per device (verify_broker_us + verify_server_us); the logins
 *   wait at once as in a storm, so the verifier batches them (`--auth-batch-max N` sets its
 *   authChecks.batchMax, 1 for one request per login): the least a login can cost;
 * - verify_storm_us: the same pass again (after the registry's rate window), each request carrying
 *   as many logins as the restarted broker's requests carried on average in the storm
 *   (storm_logins_per_request, from its brewtel_broker_auth_request_items_total over
 *   …_requests_total): what a login cost the verification in the storm;
 * - the same storm against a private Mosquitto with a password file of the same devices
 *   (mosquitto_passwd -U, PBKDF2-SHA512), in the same run.
 * Progress every second on stderr; the last line on stdout, Ctrl-C included:
 *   machines=… reconnect_s=… p99_connect_ms=… verify_us=… mosquitto_reconnect_s=… …
 * `--cpu-prof DIR` writes a CPU profile of the restarted broker (stopped with SIGTERM at the end).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { liveLine, phaseProgress, RateMeter } from '../firmware-sim/live-progress.ts';
import type { MachineIdentity } from '../firmware-sim/fleet-options.ts';
import { mqttVersionSchema } from '../firmware-sim/mqtt-version.ts';
import { provisionMachines } from '../firmware-sim/provision.ts';
import { BrokerProcess } from '../test/chaos/processes.ts';
import { freePort, startPrivateMosquitto, writeMosquittoPasswordFile, type PrivateMosquitto } from './private-mosquitto.ts';
import { ownCpuMicros, processCpuMicros } from './process-cpu.ts';
import { startServerProcess, type ServerProcess } from './server-process.ts';
import { verificationCost } from './storm-verification.ts';
import { percentile, stormDevices, type StormDevices } from './storm-devices.ts';
import { runBench, writeSummaryLine } from './summary-line.ts';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '10000' },
    'mqtt-version': { type: 'string', default: '5' },
    'reconnect-deadline-s': { type: 'string', default: '180' },
    'cpu-prof': { type: 'string' },
    'auth-batch-max': { type: 'string' },
    'skip-mosquitto': { type: 'boolean', default: false },
  },
});
const MACHINES = Number(values.machines);
const MQTT_VERSION = mqttVersionSchema.parse(values['mqtt-version']);
const DEADLINE_MS = Number(values['reconnect-deadline-s']) * 1000;
/** Devices waiting for their first CONNACK at once while the fleet first comes online (the fleet's default). */
const RAMP_WINDOW = 50;
/** The server's device-auth rate window (server/http/rate-limit.ts): a second verification pass waits it out. */
const RATE_WINDOW_MS = 10_000;
if (!Number.isInteger(MACHINES) || MACHINES < 1 || MACHINES > 100_000) throw new Error('--machines: 1 to 100000');

const progress = liveLine(process.stderr);
const interrupt = new AbortController();
process.once('SIGINT', () => {
  progress.end();
  process.stderr.write('storm: stopping (Ctrl-C), summary of what was measured so far follows\n');
  interrupt.abort();
});

/** Every figure of the summary line; `-` until measured. */
const results: Record<string, string> = {
  machines: String(MACHINES),
  reconnect_s: '-',
  p99_connect_ms: '-',
  verify_us: '-',
  mosquitto_reconnect_s: '-',
  broker_us_per_login: '-',
  server_us_per_login: '-',
  devices_us_per_login: '-',
  verify_broker_us: '-',
  verify_server_us: '-',
  verify_storm_us: '-',
  storm_logins_per_request: '-',
  initial_connect_s: '-',
  down_s: '-',
  refused_during_storm: '-',
  timed_out_during_storm: '-',
  still_missing: '-',
  mosquitto_p99_connect_ms: '-',
  mosquitto_initial_connect_s: '-',
  mosquitto_refused_during_storm: '-',
  mosquitto_timed_out_during_storm: '-',
  mqtt_version: MQTT_VERSION === 5 ? '5' : '3.1.1',
};
const fixed = (n: number, digits: number): string => n.toFixed(digits);
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Polls `ready` every 50 ms, showing `line()` every second; false when the deadline passed or Ctrl-C came first. */
async function until(ready: () => boolean, deadlineMs: number, line: () => string): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  let shownAt = 0;
  for (;;) {
    if (ready()) return true;
    if (interrupt.signal.aborted || performance.now() > deadline) return false;
    if (performance.now() - shownAt >= 1000) {
      shownAt = performance.now();
      progress.show(line());
    }
    await sleep(50);
  }
}

interface StormTarget {
  name: string;
  url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** The broker's process id, for its CPU time; undefined when not ours to read. */
  pid(): number | undefined;
  /** The restarted broker's Prometheus text (ours only), read once all are back. */
  metrics?(): Promise<string>;
}

/** What the restarted broker's counters say about the storm it took. */
interface BrokerCounters {
  /** Refusals that are not the device's fault: `auth_busy=… max_connections=… auth_failures=…`. */
  refusals: string;
  /** Logins per registry request over the storm (its batching); null when unknown. */
  loginsPerRequest: number | null;
}

interface StormFigures {
  initialS: number | null;
  downS: number | null;
  reconnectS: number | null;
  p99: number | null;
  brokerUsPerLogin: number | null;
  serverUsPerLogin: number | null;
  devicesUsPerLogin: number | null;
  refused: number;
  broker: BrokerCounters | null;
  /** Logins the devices gave up on without a CONNACK (10 s), from the restart until all were back. */
  timedOut: number;
  missing: number;
}

/** Connect every device, kill the broker, start it again, wait until every device is back. */
async function storm(target: StormTarget, machines: readonly MachineIdentity[], serverPid: number | undefined): Promise<StormFigures> {
  const figures: StormFigures = {
    initialS: null,
    downS: null,
    reconnectS: null,
    p99: null,
    brokerUsPerLogin: null,
    serverUsPerLogin: null,
    devicesUsPerLogin: null,
    refused: 0,
    broker: null,
    timedOut: 0,
    missing: machines.length,
  };
  const devices: StormDevices = stormDevices(target.url, machines, MQTT_VERSION, RAMP_WINDOW);
  const { counters } = devices;
  const rate = new RateMeter();
  const connectedLine = (phase: string) => () =>
    `${target.name}: ${phaseProgress(phase, counters.connected, machines.length, rate.perSecond(counters.connected))}`;
  try {
    const started = performance.now();
    const ramp = devices.ramp(interrupt.signal);
    if (!(await until(() => counters.connected >= machines.length, DEADLINE_MS, connectedLine('connected')))) return figures;
    await ramp;
    figures.initialS = (performance.now() - started) / 1000;
    progress.show(`${target.name}: all ${machines.length} connected in ${fixed(figures.initialS, 1)} s; killing the broker (SIGKILL)`);

    const killedAt = performance.now();
    await target.kill();
    await until(() => counters.connected === 0, 10_000, connectedLine('still connected'));
    const refusedBefore = totalRefused(devices);
    const timedOutBefore = devices.problems().ETIMEDOUT ?? 0;
    await target.restart();
    const readyAt = performance.now();
    figures.downS = (readyAt - killedAt) / 1000;
    const cpuAtReady = processCpuMicros(target.pid());
    const serverCpuAtReady = processCpuMicros(serverPid);
    const devicesCpuAtReady = ownCpuMicros();
    const back = await until(() => counters.connected >= machines.length, DEADLINE_MS, connectedLine('reconnected'));
    const backAt = performance.now();
    const cpuWhenBack = processCpuMicros(target.pid());
    const serverCpuWhenBack = processCpuMicros(serverPid);
    const devicesCpuWhenBack = ownCpuMicros();
    figures.missing = machines.length - counters.connected;
    figures.refused = totalRefused(devices) - refusedBefore;
    figures.timedOut = (devices.problems().ETIMEDOUT ?? 0) - timedOutBefore;
    figures.p99 = percentile(devices.connectLatencies(), 0.99);
    if (back) {
      figures.reconnectS = (backAt - readyAt) / 1000;
      if (cpuAtReady !== null && cpuWhenBack !== null) figures.brokerUsPerLogin = (cpuWhenBack - cpuAtReady) / machines.length;
      if (serverCpuAtReady !== null && serverCpuWhenBack !== null) figures.serverUsPerLogin = (serverCpuWhenBack - serverCpuAtReady) / machines.length;
      figures.devicesUsPerLogin = (devicesCpuWhenBack - devicesCpuAtReady) / machines.length;
    }
    progress.end();
    const refusals =
      Object.entries(devices.counters.refusals.connack)
        .map(([code, n]) => `connack_${code}=${n}`)
        .join(' ') || 'none';
    figures.broker = target.metrics ? await target.metrics().then(readBrokerCounters, () => null) : null;
    const why = figures.broker
      ? ` (restarted broker: ${figures.broker.refusals}; ${figures.broker.loginsPerRequest?.toFixed(1) ?? '?'} logins per registry request)`
      : '';
    process.stderr.write(
      `${target.name}: ${back ? `all back ${fixed(figures.reconnectS!, 1)} s after the restart` : `${figures.missing} still missing`} (down ${fixed(figures.downS, 1)} s); refusals over the run: ${refusals}${why}; connection problems: ${JSON.stringify(devices.problems())}\n`,
    );
    return figures;
  } finally {
    progress.end();
    await devices.stop();
  }
}

/** The counters of refused logins that are not the device's fault, and the login checks' batching. */
function readBrokerCounters(text: string): BrokerCounters {
  const read = (pattern: RegExp): string => pattern.exec(text)?.[1] ?? '?';
  const requests = Number(read(/^brewtel_broker_auth_requests_total (\d+)/m));
  const items = Number(read(/^brewtel_broker_auth_request_items_total (\d+)/m));
  return {
    refusals: [
      `auth_busy=${read(/^brewtel_broker_auth_checks_busy_total (\d+)/m)}`,
      `max_connections=${read(/^brewtel_broker_limit_disconnects_total\{reason="max_connections"\} (\d+)/m)}`,
      `auth_failures=${read(/^brewtel_broker_auth_failures_total (\d+)/m)}`,
    ].join(' '),
    loginsPerRequest: requests > 0 && Number.isFinite(items) ? items / requests : null,
  };
}

const totalRefused = (devices: StormDevices): number => Object.values(devices.counters.refusals.connack).reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'brewtel-storm-'));
  const adminToken = randomBytes(24).toString('base64url');
  const brokerToken = randomBytes(24).toString('base64url');
  const ingest = { username: 'svc-ingest', password: randomBytes(24).toString('base64url') };
  const brokerPort = await freePort();
  const brokerMetricsPort = await freePort();
  let server: ServerProcess | null = null;
  let broker: BrokerProcess | null = null;
  let mosquitto: PrivateMosquitto | null = null;
  try {
    server = await startServerProcess({ dataDir: join(dir, 'data'), adminToken, brokerToken, mqttUrl: `mqtt://127.0.0.1:${brokerPort}`, ingest });
    const profile = values['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])];
    let restarts = 0;
    const brokerProcess = (): BrokerProcess =>
      new BrokerProcess({
        port: brokerPort,
        deviceAuthUrl: `${server!.httpUrl}/api/v1/broker/device-auth`,
        deviceAuthToken: brokerToken,
        ingest,
        // Every authenticated client counts against the limit, svc-ingest included: room for the
        // fleet and the server's connections, as npm start gives its own fleet.
        extraArgs: ['--max-connections', String(MACHINES + 64), '--metrics-port', String(brokerMetricsPort)],
        // Profiled: the restarted broker, the one that takes the storm.
        nodeArgs: restarts > 0 ? profile : [],
      });
    broker = brokerProcess();
    await broker.start();

    const provisionRate = new RateMeter();
    let provisioned = 0;
    const showProvisioning = (): void => progress.show(phaseProgress('provisioning', provisioned, MACHINES, provisionRate.perSecond(provisioned)));
    const ticker = setInterval(showProvisioning, 1000);
    const machines = await provisionMachines(
      { apiUrl: server.httpUrl, token: adminToken, count: MACHINES, regions: ['eu', 'us', 'cn'], seed: 1 },
      (n) => {
        provisioned = n;
      },
      interrupt.signal,
    ).finally(() => clearInterval(ticker));
    progress.end();
    if (interrupt.signal.aborted) return;

    const ours = await storm(
      {
        name: 'ours',
        url: `mqtt://127.0.0.1:${brokerPort}`,
        kill: () => broker!.kill(),
        restart: async () => {
          restarts++;
          broker = brokerProcess();
          await broker.start();
        },
        pid: () => broker?.pid,
        metrics: async () => (await fetch(`http://127.0.0.1:${brokerMetricsPort}/metrics`)).text(),
      },
      machines,
      server.pid,
    );
    Object.assign(results, {
      initial_connect_s: ours.initialS === null ? '-' : fixed(ours.initialS, 1),
      down_s: ours.downS === null ? '-' : fixed(ours.downS, 1),
      reconnect_s: ours.reconnectS === null ? '-' : fixed(ours.reconnectS, 1),
      p99_connect_ms: ours.p99 === null ? '-' : String(ours.p99),
      broker_us_per_login: ours.brokerUsPerLogin === null ? '-' : fixed(ours.brokerUsPerLogin, 0),
      server_us_per_login: ours.serverUsPerLogin === null ? '-' : fixed(ours.serverUsPerLogin, 0),
      devices_us_per_login: ours.devicesUsPerLogin === null ? '-' : fixed(ours.devicesUsPerLogin, 0),
      refused_during_storm: String(ours.refused),
      timed_out_during_storm: String(ours.timedOut),
      still_missing: String(ours.missing),
    });
    // Written on a clean exit only: the profile of the broker that took the storm.
    await broker.stop().catch((error: unknown) => process.stderr.write(`storm: ${String(error)}\n`));
    broker = null;
    if (interrupt.signal.aborted) return;

    if (!values['skip-mosquitto']) {
      const passwordFile = join(dir, 'mosquitto.passwd');
      progress.show(`mosquitto: hashing ${MACHINES} passwords (mosquitto_passwd -U)`);
      await writeMosquittoPasswordFile(
        passwordFile,
        machines.map((m) => ({ username: m.deviceId, password: m.secret })),
      );
      mosquitto = await startPrivateMosquitto({ passwordFile });
      const port = mosquitto.port;
      const theirs = await storm(
        {
          name: 'mosquitto',
          url: mosquitto.url,
          kill: async () => {
            mosquitto!.child.kill('SIGKILL');
            await mosquitto!.stop();
          },
          restart: async () => {
            mosquitto = await startPrivateMosquitto({ port, passwordFile });
          },
          pid: () => mosquitto?.child.pid,
        },
        machines,
        undefined,
      );
      Object.assign(results, {
        mosquitto_reconnect_s: theirs.reconnectS === null ? '-' : fixed(theirs.reconnectS, 1),
        mosquitto_p99_connect_ms: theirs.p99 === null ? '-' : String(theirs.p99),
        mosquitto_initial_connect_s: theirs.initialS === null ? '-' : fixed(theirs.initialS, 1),
        mosquitto_refused_during_storm: String(theirs.refused),
        mosquitto_timed_out_during_storm: String(theirs.timedOut),
      });
      await mosquitto.stop();
      mosquitto = null;
      if (interrupt.signal.aborted) return;
    }

    // Last, so the server's device-auth rate window (20,000 per 10 s) has room after the storms.
    progress.show(`verifying ${MACHINES} logins against the registry, cache off`);
    const batchMax = values['auth-batch-max'] === undefined ? undefined : Number(values['auth-batch-max']);
    const cost = await verificationCost(server, brokerToken, machines, batchMax, interrupt.signal);
    progress.end();
    if (cost) {
      Object.assign(results, {
        verify_us: fixed(cost.brokerUs + cost.serverUs, 0),
        verify_broker_us: fixed(cost.brokerUs, 0),
        verify_server_us: fixed(cost.serverUs, 0),
      });
    }
    // The pass above offers every login at once, so each request carries batchMax of them: the
    // least a login can cost. In the storm they came over seconds and the broker's requests carried
    // fewer; checked again with requests of the storm's own size, it is what a storm's login costs.
    const stormBatch = ours.broker?.loginsPerRequest;
    if (cost && stormBatch != null && !interrupt.signal.aborted) {
      results.storm_logins_per_request = fixed(stormBatch, 1);
      progress.show(`verifying ${MACHINES} logins again, ${Math.max(1, Math.round(stormBatch))} per request as in the storm (after the rate window)`);
      await sleep(RATE_WINDOW_MS);
      const asInStorm = await verificationCost(server, brokerToken, machines, Math.max(1, Math.round(stormBatch)), interrupt.signal);
      progress.end();
      if (asInStorm) results.verify_storm_us = fixed(asInStorm.brokerUs + asInStorm.serverUs, 0);
    }
  } finally {
    progress.end();
    await broker?.stop().catch(() => undefined);
    await mosquitto?.stop();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    writeSummaryLine(results);
  }
}

runBench('storm', main);
