import type { Logger } from 'pino';
import { ENVELOPE_VERSION, EVENT_USER_PROPERTIES } from '../schema/events.ts';
import { parseTopic, topics } from '../schema/topics.ts';
import type { PublishOptions } from '../mqtt-wire/client-options.ts';
import type { ProtocolVersion } from '../mqtt-wire/codes.ts';

/** How a machine's messages go out: QoS, retain and the MQTT 5 properties of each kind of message. */

/** Shared by every machine: the publish path allocates no options object. */
export const EVENT: PublishOptions = { qos: 1, retain: false };
export const RETAINED: PublishOptions = { qos: 1, retain: true };
/** v5: the state is UTF-8 text (`online`/`offline`), not JSON. */
export const TEXT_PAYLOAD = { payloadFormatIndicator: true } as const;
/** v5: the payload is UTF-8 JSON (v5 §3.3.2.3.2, §3.3.2.3.9); 3.1.1 leaves properties out. */
const JSON_PAYLOAD = { payloadFormatIndicator: true, contentType: 'application/json' } as const;
/** Events with v5 properties but no envelope to read user properties from (replays, injected faults). */
const JSON_EVENT: PublishOptions = { qos: 1, retain: false, properties: JSON_PAYLOAD };

/**
 * MQTT 5 request/response (v5 §4.10): where the command asked to be answered and what to echo. Empty
 * for a 3.1.1 command; the answer then goes to `cmd-result/{name}`.
 */
export interface CommandRequest {
  responseTopic?: string;
  correlationData?: Buffer;
}

export const NO_REQUEST: CommandRequest = {};

/**
 * v5: payload format UTF-8, content type JSON and the user properties of schema/events.ts. Made once
 * per consent version and reused (a machine holds one at a time), so an event allocates no options.
 */
export class EventOptions {
  private lastConsentOptions: { version: number; options: PublishOptions } | null = null;

  forConsent(protocolVersion: ProtocolVersion, consentVersion: number): PublishOptions {
    if (protocolVersion !== 5) return EVENT;
    if (this.lastConsentOptions?.version !== consentVersion) {
      const userProperties = {
        [EVENT_USER_PROPERTIES.contractVersion]: String(ENVELOPE_VERSION),
        [EVENT_USER_PROPERTIES.consentVersion]: String(consentVersion),
      };
      this.lastConsentOptions = { version: consentVersion, options: { qos: 1, retain: false, properties: { ...JSON_PAYLOAD, userProperties } } };
    }
    return this.lastConsentOptions.options;
  }

  /** Events with no envelope to read user properties from (replays, injected faults). */
  plain(protocolVersion: ProtocolVersion): PublishOptions {
    return protocolVersion === 5 ? JSON_EVENT : EVENT;
  }
}

/**
 * A v5 command names its Response Topic; the machine answers there, echoing the Correlation Data,
 * but only on a topic of its own answers (`coffee/v1/{own id}/cmd-result/…`): a command must not
 * make a machine publish anywhere else, and the broker's ACL would refuse it anyway (PUBACK 0x87).
 */
export function replyRoute(
  deviceId: string,
  protocolVersion: ProtocolVersion,
  name: string,
  request: CommandRequest,
  logger: Logger,
): { topic: string; options: PublishOptions } {
  const own = topics.commandResult(deviceId, name);
  if (protocolVersion !== 5) return { topic: own, options: EVENT };
  const asked = request.responseTopic === undefined ? undefined : parseTopic(request.responseTopic);
  const usable = asked?.type === 'command-result' && asked.deviceId === deviceId;
  if (request.responseTopic !== undefined && !usable) {
    logger.warn({ deviceId, command: name, code: 'response_topic_refused' }, 'answering on cmd-result instead of the response topic asked');
  }
  const correlation = request.correlationData === undefined ? {} : { correlationData: request.correlationData };
  return {
    topic: usable ? request.responseTopic! : own,
    options: { qos: 1, retain: false, properties: { ...JSON_PAYLOAD, ...correlation } },
  };
}
