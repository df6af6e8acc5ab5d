import type { Logger } from 'pino';
import { FleetCounters, type FleetStats } from './fleet-stats.ts';
import { faultRatesSchema, NO_FAULTS, type FaultRatesInput } from '../schema/fault-rates.ts';
import { rampConnections } from './connect-ramp.ts';
import { eachAtMost } from './each-at-most.ts';
import { createDirectoryClient } from './directory-client.ts';
import { brokerUrlsOf, fleetOptionsSchema, type FleetOptions } from './fleet-options.ts';
import { MachineRunner } from './machine-runner.ts';
import { FleetWindow } from './fleet-window.ts';
import { recordRun } from './run-recording.ts';
import { createRampClock } from './sim-clock.ts';

export type { FleetOptions, MachineIdentity } from './fleet-options.ts';
export type { FleetStats } from './fleet-stats.ts';

export interface Fleet {
  stats(): FleetStats;
  /**
   * Resolves once every machine has had its first connection attempt answered (machines that failed
   * keep retrying), or once stop() halted the ramp. From then on the simulated clock runs at `speed`.
   */
  whenRamped(): Promise<void>;
  /** Which machines this fleet runs: device ids and home regions, in fleet order. */
  machines(): ReadonlyArray<{ deviceId: string; region: string }>;
  /** Resolves once at least `count` events were acknowledged by the broker; rejects after `timeoutMs`. */
  whenPublished(count: number, timeoutMs: number): Promise<void>;
  /**
   * Sets the fault-injection rates from now on of the machines with these device ids, or of every
   * machine when none are given; `{}` turns injection off. An id not in this fleet is an error.
   */
  injectFaults(rates: FaultRatesInput, deviceIds?: readonly string[]): void;
  /**
   * Puts the clocks of these machines (every machine when none are given) `skewMs` ahead (behind
   * when negative) from now on: their events' `ts` say so, as a device with a wrong clock would.
   */
  setClockSkew(skewMs: number, deviceIds?: readonly string[]): void;
  /** Customers of these machines (or all) `factor` times as often as their usage profile says, from now on; 0 stops their brews. */
  setBrewRate(factor: number, deviceIds?: readonly string[]): void;
  /** Stops producing, waits (bounded) for outstanding PUBACKs, says `offline`, disconnects. Counts are final afterwards. */
  stop(): Promise<void>;
}

const GOODBYE_TIMEOUT_MS = 2_000;
/**
 * Goodbyes (`offline`, then DISCONNECT) at most this many at a time: all of a large fleet's at once
 * held every one's packet, promises and timers together, the fleet process's peak at 10,000 machines.
 * The broker works through them at its own pace either way; this many keeps it busy.
 */
const GOODBYES_AT_ONCE = 500;
/** All goodbyes within this: past it, the machines left are closed without one (their will says `offline`). */
const GOODBYES_WITHIN_MS = 8_000;

/**
 * Creates the fleet and starts bringing its machines online in the background, at the pace
 * connect-ramp.ts sets (at most `connectConcurrency` waiting for their CONNACK, at most
 * `connectRatePerS` started per second). stats() and stop() work from the first moment, so a caller
 * can show progress and stop halfway through a large ramp.
 */
export function createFleet(options: FleetOptions, logger: Logger): Fleet {
  const opts = fleetOptionsSchema.parse(options);
  const brokerUrls = brokerUrlsOf(opts);
  // Real time until every machine had its first attempt answered, then `speed` (see createRampClock).
  const clock = createRampClock({ startAt: opts.startAt ?? Date.now(), speed: opts.speed });
  const counters = new FleetCounters(opts.machines.length, opts.backlogMax);
  const window = new FleetWindow(opts.inFlightMax);
  const runners: MachineRunner[] = [];
  // One holder per machine, read by its runner on every event, so rates can change per machine mid-run.
  const faultsOf = new Map(opts.machines.map((m) => [m.deviceId, { rates: opts.faults ?? NO_FAULTS }]));
  const skewOf = new Map(opts.machines.map((m) => [m.deviceId, { ms: 0 }]));
  // Brew rate factors set before a machine's runner exists are applied when it is made.
  const brewRateOf = new Map<string, number>();
  const runnerOf = new Map<string, MachineRunner>();
  const recorder = opts.recordTo === undefined ? undefined : recordRun(opts.recordTo);
  // One for the fleet: its bound on concurrent lookups holds for every machine together.
  const directory = opts.directory === undefined ? undefined : createDirectoryClient(opts.directory);

  let stopping: Promise<void> | null = null;
  const ramp = rampConnections({ count: opts.machines.length, maxWindow: opts.connectConcurrency, ratePerS: opts.connectRatePerS }, (index) => {
    const identity = opts.machines[index]!;
    const runner = new MachineRunner({
      identity,
      index: opts.firstIndex + index,
      fleetSeed: opts.seed,
      brokerUrl: brokerUrls[index]!,
      ...(directory ? { directory } : {}),
      mqttVersion: identity.mqttVersion ?? opts.mqttVersion,
      offlineBufferSize: opts.offlineBufferSize,
      sessionExpiryS: opts.sessionExpirySeconds,
      willDelayS: opts.willDelaySeconds,
      topicAliases: opts.topicAliases,
      faults: faultsOf.get(identity.deviceId)!,
      skew: skewOf.get(identity.deviceId)!,
      machineFaults: opts.machineFaults,
      recorder,
      clock,
      counters,
      window,
      logger,
    });
    runners.push(runner);
    runnerOf.set(identity.deviceId, runner);
    const factor = brewRateOf.get(identity.deviceId);
    if (factor !== undefined) runner.setBrewRate(factor);
    return runner.connection.firstAttempt();
  });
  void ramp.done.then(() => {
    // After a halt the runners are stopping; their timers stay as they are.
    if (stopping !== null) return;
    clock.speedUp();
    for (const runner of runners) runner.rearm();
    logger.info({ machines: opts.machines.length, connected: counters.connected, speed: opts.speed }, 'fleet ramped up; simulated time at full speed');
  });

  const stop = async (): Promise<void> => {
    ramp.halt();
    for (const runner of runners) runner.halt();
    // Without a live connection nothing can be acknowledged; waiting would only delay the exit.
    const drained = counters.connected === 0 || (await counters.until(() => counters.pending <= 0, opts.drainTimeoutMs));
    if (!drained) logger.warn({ pending: counters.pending }, 'stopping with unacknowledged events');
    const goodbyesBy = performance.now() + GOODBYES_WITHIN_MS;
    await eachAtMost(runners, GOODBYES_AT_ONCE, (runner) => runner.connection.stop(Math.max(0, Math.min(GOODBYE_TIMEOUT_MS, goodbyesBy - performance.now()))));
    counters.freeze();
    await recorder?.close();
    logger.info(counters.snapshot(), 'fleet stopped');
  };

  return {
    stats: () => counters.snapshot(),
    whenRamped: () => ramp.done,
    machines: () => opts.machines.map((m) => ({ deviceId: m.deviceId, region: m.region })),
    async whenPublished(count, timeoutMs) {
      if (!(await counters.until(() => counters.published >= count, timeoutMs))) {
        throw new Error(`fleet published ${counters.published} of ${count} events within ${timeoutMs} ms`);
      }
    },
    injectFaults(rates, deviceIds) {
      const parsed = faultRatesSchema.parse(rates);
      const unknown = deviceIds?.filter((id) => !faultsOf.has(id)) ?? [];
      if (unknown.length > 0) throw new Error(`not machines of this fleet: ${unknown.join(', ')}`);
      for (const id of deviceIds ?? faultsOf.keys()) faultsOf.get(id)!.rates = parsed;
    },
    setBrewRate(factor, deviceIds) {
      if (!(Number.isFinite(factor) && factor >= 0)) throw new Error('a brew rate factor is a number of at least 0');
      const unknown = deviceIds?.filter((id) => !skewOf.has(id)) ?? [];
      if (unknown.length > 0) throw new Error(`not machines of this fleet: ${unknown.join(', ')}`);
      for (const id of deviceIds ?? skewOf.keys()) {
        brewRateOf.set(id, factor);
        runnerOf.get(id)?.setBrewRate(factor);
      }
    },
    setClockSkew(skewMs, deviceIds) {
      if (!Number.isInteger(skewMs)) throw new Error('a clock skew is a whole number of milliseconds');
      const unknown = deviceIds?.filter((id) => !skewOf.has(id)) ?? [];
      if (unknown.length > 0) throw new Error(`not machines of this fleet: ${unknown.join(', ')}`);
      for (const id of deviceIds ?? skewOf.keys()) skewOf.get(id)!.ms = skewMs;
    },
    stop: () => (stopping ??= stop()),
  };
}

/** createFleet, resolved once every machine had its first connection attempt. */
export async function startFleet(options: FleetOptions, logger: Logger): Promise<Fleet> {
  const fleet = createFleet(options, logger);
  await fleet.whenRamped();
  return fleet;
}
