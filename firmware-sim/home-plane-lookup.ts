import type { Logger } from 'pino';
import { ConnackReturnCode, ReasonCode, type ProtocolVersion } from '../mqtt-wire/codes.ts';
import type { DirectoryClient, HomeAnswer } from './directory-client.ts';
import type { FleetCounters } from './fleet-stats.ts';

/**
 * The refusals after which a machine with a directory asks where it belongs (docs/planes.md): a
 * 3.1.1 broker of another plane can only say CONNACK 3 (server unavailable); a broker of another
 * plane without a directory of its own (or another make, e.g. Mosquitto) just does not know the
 * device (3.1.1: 4, 5; MQTT 5: 0x86, 0x87). An MQTT 5 plane broker says 0x9C with the reference
 * instead, followed without asking (server-redirects.ts).
 */
const ASKS_DIRECTORY: Readonly<Record<ProtocolVersion, ReadonlySet<number>>> = {
  4: new Set([ConnackReturnCode.SERVER_UNAVAILABLE, ConnackReturnCode.BAD_USERNAME_OR_PASSWORD, ConnackReturnCode.NOT_AUTHORIZED]),
  5: new Set([ReasonCode.BAD_USER_NAME_OR_PASSWORD, ReasonCode.NOT_AUTHORIZED]),
};

export interface HomePlaneLookupOptions {
  directory: DirectoryClient;
  deviceId: string;
  version: ProtocolVersion;
  counters: FleetCounters;
  logger: Logger;
  /** Sends the machine to its home plane now; false when it no longer needs to go (stopped, or connected meanwhile). */
  move: (mqttUrl: string) => boolean;
}

/**
 * One machine's questions to the directory: at most one at a time, only after a refusal that calls
 * for it. When the directory names another plane the machine goes there at once (counted as
 * relocated); any other answer (the same plane, unknown, no answer) leaves it where it is, retrying
 * with the usual backoff: a directory that is down never moves a machine.
 */
export class HomePlaneLookup {
  private asking = false;

  constructor(private readonly options: HomePlaneLookupOptions) {}

  /** A CONNACK refusal from the broker at `current`. */
  refused(reasonCode: number, current: string): void {
    const { directory, deviceId, version, counters, logger, move } = this.options;
    if (this.asking || !ASKS_DIRECTORY[version].has(reasonCode)) return;
    this.asking = true;
    counters.directoryLookups++;
    void directory.lookup(deviceId).then((answer: HomeAnswer) => {
      this.asking = false;
      if (answer.outcome === 'unavailable') counters.directoryUnavailable++;
      if (answer.outcome !== 'home' || sameServer(answer.mqttUrl, current) || !move(answer.mqttUrl)) return;
      counters.relocated++;
      logger.info({ deviceId, region: answer.region, mqttUrl: answer.mqttUrl }, 'moved to the home plane the directory named');
    });
  }
}

/** `mqtt://h:1883` and `mqtt://h:1883/` are one broker. */
function sameServer(a: string, b: string): boolean {
  return URL.canParse(a) && URL.canParse(b) ? new URL(a).href === new URL(b).href : a === b;
}
