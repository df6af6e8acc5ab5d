import type { Logger } from 'pino';
import type { ConsentRecord } from '../schema/consent.ts';
import type { BackoffPolicy } from '../mqtt-wire/backoff.ts';
import type { ProtocolVersion } from '../mqtt-wire/codes.ts';
import type { CommandRequest } from './device-publish-options.ts';
import type { DirectoryClient } from './directory-client.ts';
import type { FleetCounters } from './fleet-stats.ts';
import type { FleetWindow } from './fleet-window.ts';
import type { RunRecorder } from './run-recording.ts';

/** What one machine's MQTT link is given, and the defaults of what it may leave out. */
export interface DeviceConnectionOptions {
  brokerUrl: string;
  deviceId: string;
  secret: string;
  counters: FleetCounters;
  logger: Logger;
  onConsent: (record: ConsentRecord) => void;
  /** A message on one of the device's `cmd/{name}` topics, raw: parsing is the machine's business. */
  onCommand: (name: string, payload: Buffer, request: CommandRequest) => void;
  /** Events kept while offline or while the in-flight window is full; beyond this the oldest are dropped (and counted). */
  offlineBufferSize: number;
  /**
   * Events handed to the MQTT client and not yet acknowledged, at most. Beyond it events wait in the
   * offline buffer, so the client's own store never becomes a second, unbounded queue behind a slow broker.
   */
  maxInFlight?: number;
  /** The fleet's bound on events in flight over all its machines (fleet-window.ts); none for a machine on its own. */
  window?: FleetWindow;
  /** Gets every payload as the machine hands it to the link, before any buffering. */
  recorder?: RunRecorder;
  backoff?: BackoffPolicy;
  connectTimeoutMs?: number;
  /** 4 = MQTT 3.1.1, 5 = MQTT 5.0 (the default). */
  mqttVersion?: ProtocolVersion;
  /** v5: how long the broker keeps the session after the link drops (default a day); 3.1.1 keeps it forever. */
  sessionExpiryS?: number;
  /** v5: how long the broker waits before publishing the `offline` will (default 30 s); 3.1.1 publishes it at once. */
  willDelayS?: number;
  /**
   * v5: replace each topic by a two-byte alias after its first PUBLISH on a connection, as far as
   * the broker's CONNACK allows (Topic Alias Maximum; none announced, none used). Default on;
   * 3.1.1 has no aliases.
   */
  topicAliases?: boolean;
  /** Regional planes (docs/planes.md): asked where the machine lives when a broker does not know it; it keeps the plane it reached. */
  directory?: DirectoryClient;
}

/**
 * A machine sends an event every few simulated minutes, and over loopback five unacknowledged at a
 * time carry thousands per second. More buys nothing, and costs: an unacknowledged publish is held
 * as objects (about 500 heap bytes) until its PUBACK, where a waiting one is about 300 encoded bytes
 * outside the heap (offline-buffer.ts). A process that falls behind its clock fills every window:
 * at 20, 10,000 machines held 165,000 publishes unacknowledged (bench:sim, docs/benchmarks.md).
 */
export const DEFAULT_MAX_IN_FLIGHT = 5;
/**
 * A day: what the session holds (subscriptions, commands queued while away) is worth keeping that
 * long; events wait on the machine, consent is retained, commands expire sooner anyway. A machine
 * gone longer starts a new session and subscribes again.
 */
export const DEFAULT_SESSION_EXPIRY_S = 86_400;
/** Longer than a reboot (about ten seconds) and a reconnect after a blip, so neither flaps `offline`. */
export const DEFAULT_WILL_DELAY_S = 30;
