import { z } from 'zod';
import type { EventBody } from '../schema/events.ts';
import { chance, type Rng } from './random.ts';

type FaultCode = EventBody<'fault'>['code'];

/**
 * Faults a machine runs into on its own, apart from the ones its consumables cause: chances per brew.
 * The defaults are rough field figures for bean-to-cup machines (a grinder jams about once in two
 * thousand coffees, a boiler overheats about once in five thousand brews); a harness raises them to
 * see faults often, or sets them to 0.
 */
export const machineFaultRatesSchema = z.strictObject({
  /** The grinder blocks on a stone or an oily bean; only brews that grind can jam. */
  beanJam: z.number().min(0).max(1).default(0.0005),
  /** The thermostat cuts the boiler out above its limit. */
  overheat: z.number().min(0).max(1).default(0.0002),
});
export type MachineFaultRates = z.output<typeof machineFaultRatesSchema>;
export type MachineFaultRatesInput = z.input<typeof machineFaultRatesSchema>;

export const DEFAULT_MACHINE_FAULT_RATES: MachineFaultRates = machineFaultRatesSchema.parse({});

/** Boiler temperature a thermostat trips at, reported while an overheat fault is active. */
export const OVERHEAT_C = 138;

/**
 * Whether this brew trips a fault before it gets going, and which. Always draws exactly two numbers
 * from its own stream, so the rates never change anything else the machine does.
 */
export function spontaneousFault(rng: Rng, rates: MachineFaultRates, grinds: boolean): FaultCode | null {
  const jam = chance(rng, rates.beanJam);
  const overheat = chance(rng, rates.overheat);
  if (jam && grinds) return 'bean_jam';
  if (overheat) return 'overheat';
  return null;
}
