import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ProtocolVersion } from '../mqtt-wire/codes.ts';
import { DeviceConnection } from './device-connection.ts';
import { FleetCounters, type FleetStats } from './fleet-stats.ts';
import type { MachineIdentity } from './fleet-options.ts';
import { recordedEventSchema } from './run-recording.ts';

export interface ReplayOptions {
  brokerUrl: string;
  /** For machines whose credentials name no version of their own; default MQTT 5. */
  mqttVersion?: ProtocolVersion;
  /** MQTT 5 topic aliases (default on), as in a live fleet. */
  topicAliases?: boolean;
  file: string;
  /** Secrets for brokers that authenticate devices; a machine missing here connects with a placeholder. */
  credentials?: readonly MachineIdentity[];
  /** 1 replays at the recorded pace, 2 twice as fast; 0 as fast as the broker acknowledges. */
  pace: number;
  offlineBufferSize: number;
  drainTimeoutMs: number;
}

export interface ReplayResult extends FleetStats {
  /** Lines of the file that were not a recorded event; skipped and counted, never fatal. */
  skippedLines: number;
}

/** Events sent or waiting, not yet acknowledged, allowed per replay before reading more of the file. */
const MAX_IN_FLIGHT = 10_000;
const GOODBYE_TIMEOUT_MS = 2_000;
const PLACEHOLDER_SECRET = 'replay';

/**
 * Plays a recorded run against any broker: each recorded machine gets its own connection (same
 * session, will and backoff as in a live fleet) and sends its payloads byte for byte, in file order,
 * at the recorded pace. The file is streamed, so a long recording needs no more memory than a short one.
 */
export async function replayRun(options: ReplayOptions, logger: Logger): Promise<ReplayResult> {
  const counters = new FleetCounters(0);
  const known = new Map((options.credentials ?? []).map((m) => [m.deviceId, m]));
  const connections = new Map<string, DeviceConnection>();
  const connectionFor = (deviceId: string): DeviceConnection => {
    let connection = connections.get(deviceId);
    if (connection === undefined) {
      connection = new DeviceConnection({
        brokerUrl: options.brokerUrl,
        mqttVersion: known.get(deviceId)?.mqttVersion ?? options.mqttVersion,
        topicAliases: options.topicAliases,
        deviceId,
        secret: known.get(deviceId)?.secret ?? PLACEHOLDER_SECRET,
        counters,
        logger,
        offlineBufferSize: options.offlineBufferSize,
        onConsent: () => {},
        onCommand: () => {},
      });
      connections.set(deviceId, connection);
      counters.machines = connections.size;
    }
    return connection;
  };

  let skippedLines = 0;
  let lineNo = 0;
  const started = performance.now();
  const lines = createInterface({ input: createReadStream(options.file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    const parsed = recordedEventSchema.safeParse(parseJson(line));
    if (!parsed.success) {
      // The line number says where; the content may be anything, so it stays out of the log.
      if (skippedLines++ === 0) logger.warn({ line: lineNo, code: 'recording_line_invalid' }, 'skipped an invalid recording line');
      continue;
    }
    const { t, deviceId, kind, payload } = parsed.data;
    if (options.pace > 0) {
      const wait = started + t / options.pace - performance.now();
      if (wait > 0) await sleep(wait);
    }
    if (counters.pending + counters.buffered > MAX_IN_FLIGHT) {
      await counters.until(() => counters.pending + counters.buffered <= MAX_IN_FLIGHT / 2, options.drainTimeoutMs);
    }
    const connection = connectionFor(deviceId);
    // A fast replay must not push one machine's own buffer into dropping what the file still holds.
    const roomLeft = (): boolean => connection.backlog < Math.max(1, options.offlineBufferSize / 2);
    if (!roomLeft()) await counters.until(roomLeft, options.drainTimeoutMs);
    connection.send(kind, payload);
  }

  await counters.until(() => counters.pending <= 0 && counters.buffered === 0, options.drainTimeoutMs);
  await Promise.all([...connections.values()].map((connection) => connection.stop(GOODBYE_TIMEOUT_MS)));
  counters.freeze();
  return { ...counters.snapshot(), skippedLines };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
