import { pino } from 'pino';
import { rampConnections } from '../firmware-sim/connect-ramp.ts';
import { DeviceConnection } from '../firmware-sim/device-connection.ts';
import { FleetCounters } from '../firmware-sim/fleet-stats.ts';
import type { MachineIdentity } from '../firmware-sim/fleet-options.ts';
import type { ProtocolVersion } from '../mqtt-wire/codes.ts';

/**
 * bench:storm's devices: each one machine's real MQTT link (firmware-sim/device-connection.ts: its
 * own secret, a persistent session with a v5 session expiry of a day, a delayed `offline` will,
 * `online` retained on connect, consent and command subscriptions, the one jittered backoff of
 * mqtt-wire/backoff.ts), without the machine model, so the benchmark measures logins, not brewing.
 */
export interface StormDevices {
  readonly counters: FleetCounters;
  /** Connects every device, `window` at a time (connect-ramp.ts); resolves when each had its first attempt. */
  ramp(signal: AbortSignal): Promise<void>;
  /** How long each connected device's latest login took, CONNECT to CONNACK, in ms. */
  connectLatencies(): number[];
  /** Connection problems the devices met so far, by error code (ETIMEDOUT: no CONNACK within 10 s). */
  problems(): Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

const GOODBYE_MS = 2_000;

export function stormDevices(brokerUrl: string, machines: readonly MachineIdentity[], mqttVersion: ProtocolVersion, window: number): StormDevices {
  const counters = new FleetCounters(machines.length);
  const links: DeviceConnection[] = [];
  // The devices log each connection problem (the first since a connect as a warning, the rest at
  // debug); nothing else is logged at debug here, so counting those lines by code counts problems.
  const problems: Record<string, number> = Object.create(null);
  const logger = pino(
    { level: 'debug', base: null, timestamp: false },
    {
      write(line: string) {
        const code = /"code":"?([A-Z0-9_]+)/.exec(line)?.[1];
        if (code !== undefined && line.includes('mqtt connection problem')) problems[code] = (problems[code] ?? 0) + 1;
      },
    },
  );
  return {
    counters,
    async ramp(signal) {
      const ramp = rampConnections({ count: machines.length, maxWindow: window, ratePerS: 0 }, (index) => {
        const machine = machines[index]!;
        const link = new DeviceConnection({
          brokerUrl,
          deviceId: machine.deviceId,
          secret: machine.secret,
          counters,
          logger,
          mqttVersion,
          offlineBufferSize: 10,
          onConsent: () => {},
          onCommand: () => {},
        });
        links.push(link);
        return link.firstAttempt();
      });
      signal.addEventListener('abort', () => ramp.halt(), { once: true });
      await ramp.done;
    },
    connectLatencies: () => links.filter((link) => link.connected).map((link) => link.lastConnectMs),
    problems: () => ({ ...problems }),
    async stop() {
      await Promise.all(links.splice(0).map((link) => link.stop(GOODBYE_MS)));
    },
  };
}

/** The value below which `share` of the sorted values lie (nearest rank); null for none. */
export function percentile(values: readonly number[], share: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}
