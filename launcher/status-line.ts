/** The live line and the final summary of `npm start`: counts only, never a payload. */
import { connectSeconds, phaseProgress } from '../firmware-sim/live-progress.ts';

export interface Counts {
  elapsedS: number;
  published: number;
  /**
   * Events the machines gave up before sending: a full offline buffer, or the fleet's backlog bound
   * when the fleet falls behind its simulated clock (firmware-sim/fleet-stats.ts). Never sent, so
   * neither stored nor refused.
   */
  dropped: number;
  stored: Record<string, number>;
  refused: Record<string, number>;
  /** Demo machines asked for, and connected right now. */
  machines: number;
  connected: number;
  /** performance.now() of the launcher's start, and of the moment every machine was first connected (null: not yet). */
  startedAt: number;
  allConnectedAt: number | null;
}

/** Where the startup is: provisioning machines, creating their demo owners (how many so far), or the fleet connecting and running. */
export type Phase = { name: 'starting' } | { name: 'provisioning' | 'owners'; done: number; total: number } | { name: 'fleet' };

const PHASE_LABEL = { provisioning: 'provisioning', owners: 'creating owners' } as const;

const total = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  return `${mm}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * `[00:03] provisioning 2000/10000 (1250/s)` while provisioning (`creating owners …` after it); `connected 4000/10000 (800/s)`
 * ahead of the usual counts while machines are still missing; the counts alone once all are online.
 * `perSecond` is the rate of the count the phase is about.
 */
export function statusLine(counts: Counts, regions: readonly string[], phase: Phase, perSecond: number): string {
  const at = `[${clock(counts.elapsedS)}]`;
  if (phase.name === 'starting') return `${at} starting broker and server`;
  if (phase.name === 'provisioning' || phase.name === 'owners') return `${at} ${phaseProgress(PHASE_LABEL[phase.name], phase.done, phase.total, perSecond)}`;
  const stored = regions.map((r) => `${r} ${counts.stored[r] ?? 0}`).join('  ');
  const connecting = counts.connected < counts.machines ? `${phaseProgress('connected', counts.connected, counts.machines, perSecond)} | ` : '';
  return `${at} ${connecting}published ${counts.published} | stored ${stored} | refused ${total(counts.refused)}`;
}

/** Ends with one `key=value` line so scripts and CI can read the outcome. */
export function summary(counts: Counts, regions: readonly string[]): string {
  const perRegion = regions.map((r) => `stored_${r}=${counts.stored[r] ?? 0}`).join(' ');
  return [
    `ran ${counts.elapsedS.toFixed(1)} s`,
    `published=${counts.published} stored=${total(counts.stored)} refused=${total(counts.refused)} dropped=${counts.dropped} ${perRegion} connected=${counts.connected} connect_s=${connectSeconds(counts.startedAt, counts.allConnectedAt)}`,
  ].join('\n');
}
