/// <reference lib="dom" />
import { useState } from 'preact/hooks';

/** What the chapters found or did, kept for the tab so a reload or a step back finds the same subjects. */
export interface TourState {
  /** The machine running the story's firmware (chapter 2). */
  leaky?: string;
  /** The machine whose location consent chapter 3 withdraws, and the version that did it. */
  subject?: string;
  withdrawn?: { version: number; at: string };
  /** The owner chapter 4 exports and erases, and what each step returned. */
  owner?: { id: string; name: string; region: string; devices: string[] };
  exported?: { devices: number; events: number; quarantine: number; audit: number; bytes: number };
  erased?: { tombstoned: string[]; erased: Record<string, number> };
}

const KEY = 'brewtel.tour';

function load(): TourState {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? '{}') as TourState;
  } catch {
    return {};
  }
}

/** The tour's state and a setter that merges and saves; `reset(keys)` forgets a chapter's part. */
export function useTourState(): [TourState, (patch: Partial<TourState>) => void, (keys: readonly (keyof TourState)[]) => void] {
  const [state, setState] = useState<TourState>(load);
  const save = (next: TourState): TourState => {
    sessionStorage.setItem(KEY, JSON.stringify(next));
    return next;
  };
  const update = (patch: Partial<TourState>): void => setState((s) => save({ ...s, ...patch }));
  const reset = (keys: readonly (keyof TourState)[]): void =>
    setState((s) => {
      const next = { ...s };
      for (const key of keys) delete next[key];
      return save(next);
    });
  return [state, update, reset];
}
