import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadScenario, main } from '../../launcher/scenario-cli.ts';
import { judge, percentiles, type Facts } from '../../launcher/scenario-judge.ts';
import { runScenario } from '../../launcher/scenario-run.ts';
import { scenarioSchema } from '../../launcher/scenario-schema.ts';

const loadScenarioText = (input: unknown) => scenarioSchema.parse(input);

const EXAMPLES = fileURLToPath(new URL('../../examples/scenarios/', import.meta.url));

/** Runs the CLI's main() and keeps what it printed. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(args.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(argv, {}), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe('scenario expectations, judged without a stack', () => {
  const facts: Facts = {
    published: 12,
    suppressed: 3,
    storedByKind: { eu: { brew: 5, status: 2 }, us: { brew: 1 } },
    refusedByReason: { schema_invalid: 4 },
    commandResults: [
      { v: 1, commandId: '0192f0c8-0000-7000-8000-000000000001', name: 'reboot', status: 'ok', at: '2026-12-02T10:00:00Z' },
      { name: 'reboot', status: 'no_answer' },
    ],
    residencyViolations: 0,
    unconsentedRows: 0,
    complianceOk: true,
  };

  it('counts by region and kind, refusals by reason, command results by status, and names what it saw when unmet', () => {
    const [eu, euBrew, all, refused, ok, tooMany] = judge(
      [
        { stored: { region: 'eu', equals: 7 } },
        { stored: { region: 'eu', kind: 'brew', min: 5 } },
        { stored: { min: 9 } },
        { refused: { reason: 'schema_invalid', max: 3 } },
        { commandResults: { status: 'ok', equals: 1 } },
        { suppressed: { max: 2 } },
      ],
      facts,
    );
    expect([eu?.passed, euBrew?.passed, all?.passed, ok?.passed]).toEqual([true, true, false, true]);
    expect(all?.message).toBe('expected stored >= 9, saw 8');
    expect(refused).toMatchObject({ passed: false, actual: 4, message: 'expected refused for schema_invalid <= 3, saw 4' });
    expect(tooMany).toMatchObject({ passed: false, actual: 3 });
  });

  it('takes nearest-rank percentiles, and says when nothing was measured', () => {
    expect(percentiles([])).toEqual({ count: 0, p50: null, p95: null, p99: null, max: null });
    expect(percentiles(Array.from({ length: 100 }, (_, i) => i + 1))).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });
});

describe('scenario files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brewtel-scenario-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['leaky-machine.yaml', 'consent-withdrawal.yaml', 'commands.yaml', 'region-outage.yaml', 'clock-skew.yaml', 'broker-outage.yaml'])(
    'example %s runs and every expectation holds',
    async (file) => {
      const outcome = await runScenario(loadScenario(join(EXAMPLES, file)));
      const unmet = [
        ...outcome.steps.flatMap((s) => [s.error, ...s.expectations.filter((j) => !j.passed).map((j) => j.message)]),
        ...outcome.expectations.filter((j) => !j.passed).map((j) => j.message),
      ].filter(Boolean);
      expect(unmet).toEqual([]);
      expect(outcome.passed).toBe(true);
    },
    90_000,
  );

  it('composes groups by firmware, usage profile and MQTT version', async () => {
    const outcome = await runScenario(
      loadScenarioText({
        name: 'mixed groups',
        fleet: { machines: 0, regions: ['eu'] },
        devices: {
          leaker: { region: 'eu', profile: 'leaky', consent: { usage: true, location: 'coarse', payment: true, diagnostics: true } },
          cafe: { region: 'eu', usage: 'cafe', mqttVersion: '3.1.1', consent: { usage: true, location: 'coarse', payment: true, diagnostics: true } },
        },
        steps: [
          { name: 'the leaker is refused', after: { refused: { count: 1, reason: 'schema_invalid' }, timeout: '40s' } },
          { after: { stored: { count: 3 }, timeout: '40s' } },
        ],
        expect: [{ residencyViolations: 0 }, { unconsentedRows: 0 }],
      }),
    );
    expect(outcome.steps.map((s) => s.error)).toEqual([undefined, undefined]);
    expect(outcome.passed).toBe(true);
  }, 90_000);

  it('exits 1 naming an unmet expectation, and writes it into the JUnit and JSON reports', async () => {
    const file = join(dir, 'unmet.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'too hopeful',
        fleet: { machines: 2, regions: ['eu'] },
        steps: [{ name: 'a moment', do: { wait: '500ms' } }],
        expect: [{ stored: { min: 1_000_000 } }, { residencyViolations: 0 }],
      }),
    );
    const junit = join(dir, 'unmet.xml');
    const json = join(dir, 'unmet-report.json');
    const run = await cli(['run', file, '--junit', junit, '--json', json]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/at the end: expected stored >= 1000000, saw \d+/);
    expect(run.out.split('\n').at(-1)).toMatch(/^scenario="too hopeful" passed=false steps=1 expectations=2 unmet=1 /);
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('<testsuite name="too hopeful" tests="3" failures="1"');
    expect(xml).toMatch(
      /<testcase classname="too hopeful" name="expect stored &gt;= 1000000" time="0.000">\s*<failure message="expected stored &gt;= 1000000, saw \d+">/,
    );
    const report = JSON.parse(await readFile(json, 'utf8')) as { format: string; passed: boolean; latency: { commandRoundTripMs: { count: number } } };
    expect(report).toMatchObject({ format: 'brewtel.scenario-report.v1', passed: false, latency: { commandRoundTripMs: { count: 0 } } });
  }, 60_000);

  it('exits 2 on an invalid file, naming the file and the setting', async () => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(file, 'name: broken\nsteps:\n  - at: soon\n');
    const run = await cli(['run', file]);
    expect(run.code).toBe(2);
    expect(run.err).toContain(`${file}: steps.0.at:`);
    expect((await cli(['run'])).code).toBe(2);
  });

  it('prints the JSON Schema of scenario files', async () => {
    const run = await cli(['schema']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ $id: 'urn:brewtel:schema:v1:brewtel-scenario', type: 'object', required: expect.arrayContaining(['name']) });
  });
});
