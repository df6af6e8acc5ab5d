/**
 * A scenario run written down for CI: JUnit XML (one test case per step and per final expectation,
 * the form CI systems show as tests) and the full outcome as JSON. Pure: text in, text out.
 */
import type { ScenarioOutcome } from './scenario-run.ts';

const xmlEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

interface Case {
  name: string;
  timeMs: number;
  failures: string[];
}

export function junitXml(outcome: ScenarioOutcome): string {
  const cases: Case[] = [
    ...outcome.steps.map((step) => ({
      name: step.name,
      timeMs: step.durationMs,
      failures: [...(step.error === undefined ? [] : [step.error]), ...step.expectations.filter((j) => !j.passed).map((j) => j.message ?? j.description)],
    })),
    ...outcome.expectations.map((j) => ({ name: `expect ${j.description}`, timeMs: 0, failures: j.passed ? [] : [j.message ?? j.description] })),
  ];
  const failed = cases.filter((c) => c.failures.length > 0).length;
  const suite = xmlEscape(outcome.scenario);
  const body = cases
    .map((c) => {
      const open = `    <testcase classname="${suite}" name="${xmlEscape(c.name)}" time="${seconds(c.timeMs)}"`;
      if (c.failures.length === 0) return `${open}/>`;
      const message = xmlEscape(c.failures[0]!);
      return `${open}>\n      <failure message="${message}">${xmlEscape(c.failures.join('\n'))}</failure>\n    </testcase>`;
    })
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="brewtel scenario" tests="${cases.length}" failures="${failed}" time="${seconds(outcome.durationMs)}">`,
    `  <testsuite name="${suite}" tests="${cases.length}" failures="${failed}" errors="0" time="${seconds(outcome.durationMs)}">`,
    body,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export const jsonReport = (outcome: ScenarioOutcome): string => `${JSON.stringify({ format: 'brewtel.scenario-report.v1', ...outcome }, null, 2)}\n`;

/** The last line of a run: machine-readable, as the other commands end. */
export function summaryLine(outcome: ScenarioOutcome): string {
  const judgements = [...outcome.steps.flatMap((s) => s.expectations), ...outcome.expectations];
  const unmet = judgements.filter((j) => !j.passed).length + outcome.steps.filter((s) => s.error !== undefined).length;
  const stored = Object.values(outcome.facts.storedByKind).reduce((n, byKind) => n + Object.values(byKind).reduce((a, b) => a + b, 0), 0);
  const refused = Object.values(outcome.facts.refusedByReason).reduce((a, b) => a + b, 0);
  const p99 = outcome.latency.commandRoundTripMs.p99;
  return (
    `scenario=${JSON.stringify(outcome.scenario)} passed=${outcome.passed} steps=${outcome.steps.length} expectations=${judgements.length} unmet=${unmet} ` +
    `published=${outcome.facts.published} stored=${stored} refused=${refused} command_p99_ms=${p99 ?? '-'} duration_s=${(outcome.durationMs / 1000).toFixed(1)}`
  );
}
