import { readExplanation } from '../ingest/explanation.ts';
import type { QuarantineEntry } from './types.ts';

interface StoredRefusal extends Omit<QuarantineEntry, 'payload' | 'explanation'> {
  payload: Uint8Array | null;
  explanation: string | null;
}

/** A quarantine row as the rest of the server sees it: the payload as a Buffer, the explanation parsed. */
export const quarantineEntryOf = ({ payload, explanation, ...row }: StoredRefusal): QuarantineEntry => ({
  ...row,
  payload: payload === null ? null : Buffer.from(payload),
  explanation: readExplanation(explanation),
});
