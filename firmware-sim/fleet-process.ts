/**
 * A fleet in a process of its own, started by fork() and driven over its IPC channel
 * (fleet-process-messages.ts): `brewtel start` runs its demo fleet here, so the machines' sockets
 * and the broker's sides of them are in two processes, each under the descriptor limit, and the
 * fleet's CPU and heap are its own. Logs go to stderr, which the parent shares with it.
 *
 * It lives as long as its parent: when the IPC channel closes (the parent exited or was killed) it
 * stops its machines and exits. Ctrl-C reaches it too (the terminal signals the whole process
 * group), but the parent decides when the fleet stops, so the final counts reach the summary.
 */
import { pino, type Logger } from 'pino';
import { createFleet, type Fleet } from './fleet.ts';
import { type FleetChildMessage, fleetParentMessageSchema, statsForWire } from './fleet-process-messages.ts';

/** A stop that has not finished by then (drain and goodbyes are bounded well below it) ends the process anyway. */
const EXIT_DEADLINE_MS = 30_000;

function serve(send: (message: FleetChildMessage) => void): void {
  let logger: Logger = pino({ level: 'warn' }, pino.destination(2)).child({ room: 'fleet' });
  let fleet: Fleet | null = null;
  let statsTimer: NodeJS.Timeout | null = null;
  let stopping: Promise<void> | null = null;

  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      setTimeout(() => {
        logger.error({ why }, 'the fleet did not stop in time; exiting');
        process.exit(1);
      }, EXIT_DEADLINE_MS).unref();
      if (statsTimer) clearInterval(statsTimer);
      await fleet?.stop();
      if (process.connected && fleet) send({ type: 'stopped', stats: statsForWire(fleet.stats()) });
      if (process.connected) process.disconnect();
      process.off('SIGINT', ignoreSignal);
      process.off('SIGTERM', ignoreSignal);
    })());

  const ignoreSignal = (signal: NodeJS.Signals): void => logger.debug({ signal }, 'signal left to the parent, which stops the fleet');
  process.on('SIGINT', ignoreSignal);
  process.on('SIGTERM', ignoreSignal);
  process.on('disconnect', () => void stop('parent gone'));

  process.on('message', (raw) => {
    const parsed = fleetParentMessageSchema.safeParse(raw);
    if (!parsed.success) {
      logger.error({ issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) }, 'unreadable message from the parent');
      send({ type: 'refused', message: 'unreadable message' });
      return;
    }
    const message = parsed.data;
    if (message.type === 'stop') {
      void stop('asked to');
      return;
    }
    if (message.type === 'start') {
      if (fleet) {
        send({ type: 'refused', message: 'the fleet is already started' });
        return;
      }
      logger = pino({ level: message.logLevel }, pino.destination(2)).child({ room: 'fleet' });
      const started = createFleet(message.options, logger);
      fleet = started;
      statsTimer = setInterval(() => send({ type: 'stats', stats: statsForWire(started.stats()) }), message.statsEveryMs);
      void started.whenRamped().then(() => {
        if (stopping === null) send({ type: 'ramped', stats: statsForWire(started.stats()) });
      });
      return;
    }
    if (!fleet || stopping) {
      send({ type: 'refused', message: `${message.type}: the fleet is not running` });
      return;
    }
    try {
      if (message.type === 'injectFaults') fleet.injectFaults(message.rates, message.deviceIds);
      else if (message.type === 'setBrewRate') fleet.setBrewRate(message.factor, message.deviceIds);
      else fleet.setClockSkew(message.skewMs, message.deviceIds);
    } catch (error) {
      // The parent checks the same things before sending; this is a disagreement worth a line.
      const text = error instanceof Error ? error.message : String(error);
      logger.error({ control: message.type, error: text }, 'control message refused');
      send({ type: 'refused', message: `${message.type}: ${text}` });
    }
  });
}

const channel = process.send?.bind(process);
if (channel === undefined) {
  process.stderr.write('fleet-process: started by brewtel start over an IPC channel (node fork), not on its own\n');
  process.exitCode = 2;
} else {
  serve((message) => {
    // A parent gone between the check and the send is answered by the disconnect handler, not an error event.
    if (process.connected) channel(message, undefined, {}, () => undefined);
  });
}
