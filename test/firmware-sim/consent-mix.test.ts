import { describe, expect, it } from 'vitest';
import { consentCategoriesSchema } from '../../schema/consent.ts';
import { chooseConsent, consentMixSchema } from '../../firmware-sim/consent-mix.ts';
import { createRng } from '../../firmware-sim/random.ts';

describe('consent choices at setup', () => {
  const mix = consentMixSchema.parse({});
  const rng = createRng(5);
  const choices = Array.from({ length: 2000 }, () => chooseConsent(rng, mix));
  const share = (predicate: (c: (typeof choices)[number]) => boolean): number => choices.filter(predicate).length / choices.length;

  it('are valid consent categories', () => {
    for (const c of choices) expect(consentCategoriesSchema.safeParse(c).success).toBe(true);
  });

  it('follow the mix: most share usage and diagnostics, fewer location, exact least, some nothing', () => {
    expect(share((c) => c.usage)).toBeGreaterThan(0.7);
    expect(share((c) => c.diagnostics)).toBeGreaterThan(0.65);
    const exact = share((c) => c.location === 'exact');
    const coarse = share((c) => c.location === 'coarse');
    expect(exact).toBeGreaterThan(0.1);
    expect(exact).toBeLessThan(coarse);
    expect(share((c) => c.payment)).toBeGreaterThan(0.25);
    expect(share((c) => c.payment)).toBeLessThan(0.5);
    const nothing = share((c) => !c.usage && !c.payment && !c.diagnostics && c.location === 'none');
    expect(nothing).toBeGreaterThan(0.04);
    expect(nothing).toBeLessThan(0.15);
  });
});
