import type { EventBody, MachinePhase } from '../schema/events.ts';
import { brewTimeline } from './brew-phases.ts';

type BrewBody = EventBody<'brew'>;

/** A timed phase at absolute simulated instants, `from` inclusive, `to` exclusive. */
export interface TimedPhase {
  phase: MachinePhase;
  from: number;
  to: number;
}

/**
 * The machine's operating state as a value: the timed phases planned from now on, in order and
 * back to back, and the resting phase the machine falls into when the plan runs out. Every
 * transition is a pure function from one state to the next; time is whatever instant the caller
 * passes, so a simulated clock drives it.
 */
export interface PhaseState {
  readonly plan: readonly TimedPhase[];
  readonly rest: 'off' | 'idle' | 'fault';
}

export const PHASE_TIMINGS = Object.freeze({
  /** A thermoblock from cold to brewing temperature. */
  heatingMs: 45_000,
  /** The short flush through the brew group after a coffee and before switching off. */
  rinseMs: 8_000,
  /** A descaling programme run after the descale warning. */
  descaleMs: 20 * 60_000,
});

export const OFF: PhaseState = Object.freeze({ plan: [], rest: 'off' });

/** When the planned phases end: the earliest instant something new can start. */
export const busyUntil = (state: PhaseState, at: number): number => Math.max(at, state.plan.at(-1)?.to ?? at);

export function phaseAt(state: PhaseState, at: number): MachinePhase {
  for (const span of state.plan) if (at >= span.from && at < span.to) return span.phase;
  return state.rest;
}

/** Forgets what is over by `at`; keeps the state small on a machine that runs for simulated years. */
export function settle(state: PhaseState, at: number): PhaseState {
  if (state.plan.length === 0 || (state.plan[0]?.to ?? Infinity) > at) return state;
  return { ...state, plan: state.plan.filter((span) => span.to > at) };
}

const append = (state: PhaseState, at: number, steps: ReadonlyArray<[MachinePhase, number]>): TimedPhase[] => {
  const plan = [...settle(state, at).plan];
  let t = busyUntil(state, at);
  for (const [phase, ms] of steps) {
    if (ms <= 0) continue;
    plan.push({ phase, from: t, to: t + ms });
    t += ms;
  }
  return plan;
};

/** Switched on (by its timer or a person): heats up, then waits. Already on, nothing changes. */
export function powerOn(state: PhaseState, at: number): PhaseState {
  if (state.rest !== 'off') return state;
  return { rest: 'idle', plan: append(state, at, [['heating', PHASE_TIMINGS.heatingMs]]) };
}

/** Switched off: finishes what it is doing, rinses, goes dark. A machine showing a fault stays in fault. */
export function powerOff(state: PhaseState, at: number): PhaseState {
  if (state.rest !== 'idle') return state;
  return { rest: 'off', plan: append(state, at, [['rinsing', PHASE_TIMINGS.rinseMs]]) };
}

export interface PlannedBrew {
  state: PhaseState;
  /** When grinding (or dispensing) actually starts: after whatever the machine is still busy with. */
  startAt: number;
  /** When the cup is ready; a rinse may follow. */
  doneAt: number;
}

/** A brew on a machine that is on and not in fault; null otherwise. Coffee leaves a rinse behind. */
export function startBrew(state: PhaseState, at: number, brew: BrewBody): PlannedBrew | null {
  if (state.rest !== 'idle') return null;
  const startAt = busyUntil(state, at);
  const steps: Array<[MachinePhase, number]> = brewTimeline(brew).map((span) => [span.phase, span.toMs - span.fromMs]);
  const doneAt = startAt + steps.reduce((sum, [, ms]) => sum + ms, 0);
  if (brew.doseG > 0) steps.push(['rinsing', PHASE_TIMINGS.rinseMs]);
  return { state: { rest: 'idle', plan: append(state, at, steps) }, startAt, doneAt };
}

/** A blocking fault stops everything at once; the plan ahead is void. */
export const fault = (): PhaseState => ({ rest: 'fault', plan: [] });

/** After a service visit: back to waiting, descaling first when that was due. An off machine stays off. */
export function recover(state: PhaseState, at: number, descale: boolean): PhaseState {
  const rest = state.rest === 'fault' ? 'idle' : state.rest;
  const cleared: PhaseState = { rest, plan: settle(state, at).plan };
  if (!descale) return cleared;
  return { rest, plan: append(cleared, at, [['descaling', PHASE_TIMINGS.descaleMs]]) };
}

/** Power cycled: whatever ran is cut short; a machine that should be on heats up again. */
export function reboot(state: PhaseState, at: number, shouldBeOn: boolean): PhaseState {
  if (state.rest === 'fault') return fault();
  return shouldBeOn ? powerOn(OFF, at) : OFF;
}

const AMBIENT_C = 21;
const BOILER_C = 93;
const STEAM_C = 125;

/** What the boiler thermometer should read: cold when off, climbing while heating, steam while frothing. */
export function boilerTargetC(state: PhaseState, at: number): number {
  const phase = phaseAt(state, at);
  if (phase === 'off') return AMBIENT_C;
  if (phase === 'frothing') return STEAM_C;
  if (phase !== 'heating') return BOILER_C;
  const span = state.plan.find((s) => s.phase === 'heating' && at >= s.from && at < s.to);
  const progress = span === undefined ? 1 : (at - span.from) / (span.to - span.from);
  return AMBIENT_C + (BOILER_C - AMBIENT_C) * progress;
}
