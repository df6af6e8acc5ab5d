import type { RegionId } from '../../../schema/regions.ts';
import type { ConsentRow, DirectoryEntry, EventRow } from '../../store/types.ts';
import type { Answer, Step } from '../pipeline.ts';
import type { RefusalReason } from '../reasons.ts';
import type { RegionAdmission } from '../region-admission.ts';
import { admit } from './admit.ts';
import { clock, type ClockWindow } from './clock.ts';
import { consent } from './consent.ts';
import { decode } from './decode.ts';
import { envelope } from './envelope.ts';
import { identify } from './identify.ts';
import { minimise } from './minimise.ts';
import { route } from './route.ts';
import { tombstone } from './tombstone.ts';
import { validate } from './validate.ts';
import { write } from './write.ts';

/** What the steps ask of the world outside them. */
export interface StepIo {
  lookup(deviceId: string): Answer<DirectoryEntry | null>;
  hasRegion(region: RegionId): boolean;
  erased(region: RegionId, deviceId: string): Answer<boolean>;
  admission: RegionAdmission;
  clockWindow: ClockWindow;
  ledger(deviceId: string, region: RegionId): Answer<readonly ConsentRow[]>;
  writeRow(region: RegionId, row: EventRow): Promise<RefusalReason | undefined>;
}

/**
 * Ingest's steps, in order. The sender (named by the topic) and its tombstone come before anything
 * reads the payload, so nothing of an erased device is ever parsed, let alone quarantined with its
 * payload; whether the envelope agrees with the topic can only be told after decoding.
 */
export function ingestSteps(io: StepIo): readonly Step[] {
  return [
    identify(io.lookup),
    route(io.hasRegion),
    tombstone(io.erased),
    decode,
    validate(io.ledger),
    envelope,
    clock(io.clockWindow),
    admit(io.admission),
    consent(io.ledger),
    minimise,
    write(io.writeRow),
  ];
}
