import type { EventBody, Recipe } from '../schema/events.ts';
import { chance, normal, type Rng } from './random.ts';

type BrewBody = EventBody<'brew'>;

interface RecipeSpec {
  doseG: number;
  waterMl: number;
  milkMl: number;
  waterTempC: number;
  pressureBar: number;
  durationS: number;
  /** Reference price in euro cents. */
  priceMinor: number;
}

/** Typical bean-to-cup values; each brew varies around them. */
export const RECIPE_SPECS: Readonly<Record<Recipe, RecipeSpec>> = {
  espresso: { doseG: 18, waterMl: 40, milkMl: 0, waterTempC: 92.5, pressureBar: 9, durationS: 27, priceMinor: 220 },
  lungo: { doseG: 11, waterMl: 110, milkMl: 0, waterTempC: 93, pressureBar: 8.5, durationS: 45, priceMinor: 260 },
  americano: { doseG: 18, waterMl: 200, milkMl: 0, waterTempC: 93, pressureBar: 9, durationS: 60, priceMinor: 300 },
  cappuccino: { doseG: 18, waterMl: 40, milkMl: 110, waterTempC: 92, pressureBar: 9, durationS: 55, priceMinor: 350 },
  latte: { doseG: 18, waterMl: 40, milkMl: 220, waterTempC: 92, pressureBar: 9, durationS: 70, priceMinor: 390 },
  flat_white: { doseG: 20, waterMl: 45, milkMl: 120, waterTempC: 92, pressureBar: 9, durationS: 55, priceMinor: 380 },
  hot_water: { doseG: 0, waterMl: 250, milkMl: 0, waterTempC: 90, pressureBar: 0.5, durationS: 25, priceMinor: 100 },
};

const ABORT_PROBABILITY = 0.015;

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));
const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** What an owner may change about a recipe on their machine (the `set-recipe` command). */
export type RecipeAdjustment = Partial<Pick<RecipeSpec, 'doseG' | 'waterMl' | 'milkMl' | 'waterTempC'>>;

/**
 * One brew of a recipe: values scatter around the spec, adjusted by the owner's settings; now and
 * then someone cancels half-way. Settings never change how many random draws a brew takes.
 */
export function brewValues(rng: Rng, recipe: Recipe, adjustment?: RecipeAdjustment): BrewBody {
  const spec = adjustment === undefined ? RECIPE_SPECS[recipe] : { ...RECIPE_SPECS[recipe], ...definedOnly(adjustment) };
  const aborted = chance(rng, ABORT_PROBABILITY);
  const share = aborted ? 0.2 + 0.6 * rng.next() : 1;
  const vary = (mean: number, relSd: number): number => (mean === 0 ? 0 : Math.max(0, normal(rng, mean, mean * relSd)));
  return {
    recipe,
    doseG: round(clamp(vary(spec.doseG, 0.04), 0, 30), 1),
    waterMl: round(clamp(vary(spec.waterMl, 0.05) * share, 0, 600), 0),
    milkMl: round(clamp(vary(spec.milkMl, 0.08) * share, 0, 400), 0),
    waterTempC: round(clamp(normal(rng, spec.waterTempC, 0.6), 60, 100), 1),
    pressureBar: round(clamp(spec.pressureBar === 0 ? 0 : normal(rng, spec.pressureBar, 0.35), 0, 20), 1),
    durationMs: Math.round(clamp(vary(spec.durationS * 1000, 0.1) * share, 0, 600_000)),
    outcome: aborted ? 'aborted' : 'ok',
  };
}

const definedOnly = (adjustment: RecipeAdjustment): RecipeAdjustment =>
  Object.fromEntries(Object.entries(adjustment).filter(([, value]) => value !== undefined));
