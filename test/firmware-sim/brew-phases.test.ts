import { describe, expect, it } from 'vitest';
import { RECIPES } from '../../schema/events.ts';
import { brewTimeline, phaseOfBrew } from '../../firmware-sim/brew-phases.ts';
import { brewValues } from '../../firmware-sim/recipes.ts';
import { createRng } from '../../firmware-sim/random.ts';

describe('brew phases', () => {
  it('fills the whole brew time with contiguous phases for every recipe', () => {
    const rng = createRng(7);
    for (const recipe of RECIPES) {
      const brew = brewValues(rng, recipe);
      const spans = brewTimeline(brew);
      expect(spans[0]?.fromMs).toBe(0);
      expect(spans.at(-1)?.toMs).toBe(Math.max(1, brew.durationMs));
      for (let i = 1; i < spans.length; i++) expect(spans[i]?.fromMs).toBe(spans[i - 1]?.toMs);
    }
  });

  it('grinds, brews and froths a cappuccino in that order, then is done', () => {
    const brew = { recipe: 'cappuccino', doseG: 18, waterMl: 40, milkMl: 110, waterTempC: 92, pressureBar: 9, durationMs: 55_000, outcome: 'ok' } as const;
    expect(brewTimeline(brew).map((s) => s.phase)).toEqual(['grinding', 'brewing', 'frothing']);
    expect(phaseOfBrew(brew, 0)).toBe('grinding');
    expect(phaseOfBrew(brew, 20_000)).toBe('brewing');
    expect(phaseOfBrew(brew, 54_999)).toBe('frothing');
    expect(phaseOfBrew(brew, 55_000)).toBeNull();
  });

  it('dispenses hot water without grinding', () => {
    const brew = { recipe: 'hot_water', doseG: 0, waterMl: 250, milkMl: 0, waterTempC: 90, pressureBar: 0.5, durationMs: 25_000, outcome: 'ok' } as const;
    expect(brewTimeline(brew).map((s) => s.phase)).toEqual(['dispensing']);
  });
});
