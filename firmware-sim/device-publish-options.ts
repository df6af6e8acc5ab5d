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

/** Consent versions whose v5 options are kept; older ones are made again if still asked for. */
const SHARED_CONSENT_VERSIONS = 16;
/** Shared by every machine of the process: the options of one consent version are the same for all. */
const byConsentVersion = new Map<number, PublishOptions>();

/**
 * v5: payload format UTF-8, content type JSON and the user properties of schema/events.ts. Made once
 * per consent version for the whole process and reused (a fleet's machines hold one or two versions
 * between them), so an event allocates no options and a machine holds none of its own. Kept for the
 * latest versions only: a long run that moves through many versions forgets the oldest.
 */
export class EventOptions {
  forConsent(protocolVersion: ProtocolVersion, consentVersion: number): PublishOptions {
    if (protocolVersion !== 5) return EVENT;
    const known = byConsentVersion.get(consentVersion);
    if (known !== undefined) return known;
    const userProperties = {
      [EVENT_USER_PROPERTIES.contractVersion]: String(ENVELOPE_VERSION),
      [EVENT_USER_PROPERTIES.consentVersion]: String(consentVersion),
    };
    const options: PublishOptions = { qos: 1, retain: false, properties: { ...JSON_PAYLOAD, userProperties } };
    if (byConsentVersion.size >= SHARED_CONSENT_VERSIONS) byConsentVersion.delete(byConsentVersion.keys().next().value!);
    byConsentVersion.set(consentVersion, options);
    return options;
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
