import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from 'pino';
import type { Fleet, FleetOptions, FleetStats } from '../firmware-sim/fleet.ts';
import { fleetChildMessageSchema, type FleetParentMessage, statsFromWire } from '../firmware-sim/fleet-process-messages.ts';
import { FleetCounters } from '../firmware-sim/fleet-stats.ts';
import { faultRatesSchema } from '../schema/fault-rates.ts';
import { logLevelSchema } from '../schema/log-level.ts';
import { fleetProcessEntry } from './fleet-process-entry.ts';

/** How often the fleet sends its counts: the live line reads them every second, the fleet control API on demand. */
const STATS_EVERY_MS = 200;
/**
 * V8 keeps the fleet's heap small at some CPU cost: the machines' allocations are short-lived, and
 * with the default growth the heap held two to three times the live bytes (10,000 machines: 448 MB
 * peak RSS, 230 MB with this flag, docs/benchmarks.md). The fleet is not the process short of CPU.
 */
const FLEET_V8_FLAGS = ['--optimize-for-size'];
/** The fleet's own stop is bounded (drain, goodbyes); past this it is killed. */
const STOP_GRACE_MS = 20_000;

/**
 * The Fleet of launcher/stack.ts with its machines in a process of their own
 * (firmware-sim/fleet-process.ts): `npm start` uses it so the machines' sockets and the broker's
 * sides of them do not share one process's descriptor limit, and so fleet and broker get a core
 * each. It behaves like createFleet's: machines() and stats() answer at once (stats are the
 * latest counts the fleet sent, at most STATS_EVERY_MS old; after stop() the final ones), and
 * injectFaults, setBrewRate and setClockSkew check their arguments here, throwing for a device id
 * that is not in the fleet, before the fleet applies them.
 */
export async function startFleetProcess(options: FleetOptions, logger: Logger): Promise<Fleet> {
  const entry = await fleetProcessEntry();
  const machines = options.machines.map((m) => ({ deviceId: m.deviceId, region: m.region }));
  const known = new Set(machines.map((m) => m.deviceId));
  let latest: FleetStats = new FleetCounters(machines.length).snapshot();
  let stopping: Promise<void> | null = null;
  const waiters = new Set<() => void>();
  const update = (stats: FleetStats): void => {
    latest = stats;
    for (const wake of waiters) wake();
  };

  const child: ChildProcess = fork(entry.file, [], { execArgv: [...entry.execArgv, ...FLEET_V8_FLAGS], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      entry.cleanup();
      resolve();
    }),
  );
  let markRamped: () => void = () => undefined;
  const ramped = new Promise<void>((resolve) => {
    markRamped = resolve;
  });
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });

  child.on('message', (raw) => {
    // It has loaded every module by the time it speaks: its compiled entry is no longer needed (nor left behind by a killed parent).
    entry.cleanup();
    const parsed = fleetChildMessageSchema.safeParse(raw);
    if (!parsed.success) {
      logger.error({ issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'unreadable message from the fleet process');
      return;
    }
    const message = parsed.data;
    if (message.type === 'refused') {
      logger.error({ why: message.message }, 'the fleet process refused a control message');
      return;
    }
    update(statsFromWire(message.stats));
    if (message.type === 'ramped') markRamped();
    if (message.type === 'stopped') markStopped();
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      logger.error({ code, signal }, 'the fleet process exited; its machines are offline');
      // Its connections went with it; the other counts are the last it sent.
      update({ ...latest, connected: 0, pending: 0 });
    }
    markRamped();
    markStopped();
  });
  child.on('error', (error) => logger.error({ err: error }, 'fleet process error'));

  const send = (message: FleetParentMessage): void => {
    if (child.connected) child.send(message, undefined, {}, () => undefined);
  };
  send({ type: 'start', options, logLevel: logLevelSchema.catch('warn').parse(logger.level), statsEveryMs: STATS_EVERY_MS });

  const ofThisFleet = (deviceIds: readonly string[] | undefined): string[] | undefined => {
    const unknown = deviceIds?.filter((id) => !known.has(id)) ?? [];
    if (unknown.length > 0) throw new Error(`not machines of this fleet: ${unknown.join(', ')}`);
    return deviceIds === undefined ? undefined : [...deviceIds];
  };

  const stop = async (): Promise<void> => {
    send({ type: 'stop' });
    const timer = setTimeout(() => {
      logger.warn({ graceMs: STOP_GRACE_MS }, 'the fleet process did not stop in time; killing it');
      child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await Promise.all([stopped, exited]);
    clearTimeout(timer);
  };

  return {
    stats: () => latest,
    whenRamped: () => ramped,
    machines: () => machines,
    whenPublished(count, timeoutMs) {
      if (latest.published >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fleet published ${latest.published} of ${count} events within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (latest.published < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    injectFaults(rates, deviceIds) {
      const parsed = faultRatesSchema.parse(rates);
      send({ type: 'injectFaults', rates: parsed, deviceIds: ofThisFleet(deviceIds) });
    },
    setBrewRate(factor, deviceIds) {
      if (!(Number.isFinite(factor) && factor >= 0)) throw new Error('a brew rate factor is a number of at least 0');
      send({ type: 'setBrewRate', factor, deviceIds: ofThisFleet(deviceIds) });
    },
    setClockSkew(skewMs, deviceIds) {
      if (!Number.isInteger(skewMs)) throw new Error('a clock skew is a whole number of milliseconds');
      send({ type: 'setClockSkew', skewMs, deviceIds: ofThisFleet(deviceIds) });
    },
    stop: () => (stopping ??= stop()),
  };
}
