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
  stop(): Promise<void>;
}

const GOODBYE_MS = 2_000;
const silent = pino({ level: 'silent' });

export function stormDevices(brokerUrl: string, machines: readonly MachineIdentity[], mqttVersion: ProtocolVersion, window: number): StormDevices {
  const counters = new FleetCounters(machines.length);
  const links: DeviceConnection[] = [];
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
          logger: silent,
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
