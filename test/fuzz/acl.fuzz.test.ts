import { describe, expect, it } from 'vitest';
import { fuzzAcl } from './acl-fuzz.ts';
import { badCount, report } from './tally.ts';

const RUNS = 10_000;
const seed = Date.now() % 2 ** 31;

describe('fuzz: the broker topic policy against an independent oracle', () => {
  it(`agrees on every generated (identity, topic) pair (seed ${seed})`, () => {
    const groups = fuzzAcl(RUNS, seed);
    console.log(report(groups));
    expect(groups.reduce((n, g) => n + g.tried, 0)).toBe(RUNS);
    // Enough allowed inputs that "deny everything" could not pass.
    expect(groups.reduce((n, g) => n + g.accepted, 0)).toBeGreaterThan(RUNS / 50);
    for (const group of groups) expect(group.failures, group.group).toEqual([]);
    expect(groups.reduce((n, g) => n + badCount(g), 0)).toBe(0);
  });
});
