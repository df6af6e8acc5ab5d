import type { EventBody } from '../schema/events.ts';
import { intBetween, uniform, type Rng } from './random.ts';
import type { Capacities } from './usage-profiles.ts';

type BrewBody = EventBody<'brew'>;
type FaultCode = EventBody<'fault'>['code'];

export interface Consumables {
  waterTankMl: number;
  beansG: number;
  milkMl: number;
  groundsBinCount: number;
  cupsUntilDescale: number;
}

/** Water the machine rinses through after each coffee. */
const RINSE_ML = 30;

export const fullConsumables = (capacities: Capacities): Consumables => ({
  waterTankMl: capacities.waterTankMl,
  beansG: capacities.beansG,
  milkMl: capacities.milkMl,
  groundsBinCount: 0,
  cupsUntilDescale: capacities.descaleEveryCups,
});

/** A machine found in use: levels somewhere between 40 % and full, bin and descale counter part-way. */
export function partlyUsedConsumables(rng: Rng, capacities: Capacities): Consumables {
  const full = fullConsumables(capacities);
  return {
    waterTankMl: Math.round(full.waterTankMl * uniform(rng, 0.4, 1)),
    beansG: Math.round(full.beansG * uniform(rng, 0.4, 1)),
    milkMl: Math.round(full.milkMl * uniform(rng, 0.4, 1)),
    groundsBinCount: intBetween(rng, 0, Math.floor(capacities.groundsBin / 2)),
    cupsUntilDescale: intBetween(rng, Math.ceil(capacities.descaleEveryCups / 4), capacities.descaleEveryCups),
  };
}

/** The blocking fault a brew would run into, checked before grinding starts, or null if it can go ahead. */
export function shortageFor(state: Consumables, capacities: Capacities, brew: BrewBody): FaultCode | null {
  if (state.waterTankMl < brew.waterMl + RINSE_ML) return 'water_empty';
  if (state.beansG < brew.doseG) return 'beans_empty';
  if (state.milkMl < brew.milkMl) return 'milk_empty';
  if (brew.doseG > 0 && state.groundsBinCount >= capacities.groundsBin) return 'grounds_full';
  return null;
}

export function consume(state: Consumables, brew: BrewBody): void {
  state.waterTankMl = Math.max(0, state.waterTankMl - brew.waterMl - RINSE_ML);
  state.beansG = Math.max(0, round1(state.beansG - brew.doseG));
  state.milkMl = Math.max(0, state.milkMl - brew.milkMl);
  if (brew.doseG > 0) {
    state.groundsBinCount += 1;
    state.cupsUntilDescale = Math.max(0, state.cupsUntilDescale - 1);
  }
}

/** True when any consumable is down to a fifth, the point where a careful user tops up. */
export function isLow(state: Consumables, capacities: Capacities): boolean {
  return (
    state.waterTankMl < capacities.waterTankMl / 5 ||
    state.beansG < capacities.beansG / 5 ||
    state.milkMl < capacities.milkMl / 5 ||
    state.groundsBinCount > (capacities.groundsBin * 4) / 5
  );
}

/** A service visit fills everything and empties the grounds bin; descaling happens only when due. */
export function service(state: Consumables, capacities: Capacities): void {
  const cupsUntilDescale = state.cupsUntilDescale;
  Object.assign(state, fullConsumables(capacities));
  if (cupsUntilDescale > 0) state.cupsUntilDescale = cupsUntilDescale;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
