import type { ConsentDecision } from '../consent/decide.ts';
import type { EventEnvelope } from '../../schema/events.ts';
import type { RegionId } from '../../schema/regions.ts';
import type { ParsedTopic } from '../../schema/topics.ts';
import type { DirectoryEntry, EventRow } from '../store/types.ts';
import type { Finding } from '../../schema/refusal-explanation.ts';
import type { RefusalReason } from './reasons.ts';

/** One message as any source (MQTT today, something else later) hands it to the pipeline. */
export interface IngestMessage {
  topic: string;
  payload: Buffer;
  receivedAt: Date;
}

/** What the steps learn about a message, filled in step by step. */
export interface IngestContext {
  readonly message: IngestMessage;
  json?: unknown;
  event?: EventEnvelope;
  topic?: Extract<ParsedTopic, { type: 'event' }>;
  device?: DirectoryEntry;
  decision?: Extract<ConsentDecision, { allowed: true }>;
  region?: RegionId;
  /** Set once the message counts against its region's bound; released when ingest is done with it. */
  admitted?: RegionId;
  row?: EventRow;
}

export interface Refusal {
  reason: RefusalReason;
  /** What the refusing step found, in fixed words and schema paths, never a value (explanation.ts). */
  findings?: readonly Finding[];
}

export type IngestOutcome = { status: 'stored'; region: RegionId; eventId: string } | { status: 'refused'; reason: RefusalReason };
