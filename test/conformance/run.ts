import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run conformance`: runs the vitest files of test/conformance (third-party MQTT clients against
 * our broker), prints one row per case with the MQTT 3.1.1 or 5.0 statements it checks, and ends with
 * `suite=… passed=… failed=…`. Exit status 1 when a case failed or none ran.
 */
interface AssertionResult {
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';
  duration?: number | null;
  failureMessages?: string[];
}
interface JsonReport {
  testResults: Array<{ name: string; status?: string; message?: string; assertionResults: AssertionResult[] }>;
}

const dir = mkdtempSync(join(tmpdir(), 'brewtel-conformance-'));
try {
  const output = join(dir, 'report.json');
  const run = spawnSync('npx', ['vitest', 'run', 'test/conformance', '--reporter=json', `--outputFile=${output}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  let report: JsonReport;
  try {
    report = JSON.parse(readFileSync(output, 'utf8')) as JsonReport;
  } catch {
    console.error(`vitest produced no report (exit ${run.status})`);
    console.log('suite=conformance passed=0 failed=1 skipped=0');
    process.exit(1);
  }

  const rows = report.testResults.flatMap((file) =>
    file.assertionResults.map((test) => {
      const cites = test.title.match(/\[MQTT-[0-9.-]+\]/g) ?? [];
      const title = test.title.replace(/\[MQTT-[0-9.-]+\]\s*/g, '');
      return { status: test.status, cites: cites.join(' '), title, file: file.name.split('/').pop() ?? file.name, failure: test.failureMessages?.[0] };
    }),
  );
  // Long citation lists overflow their column rather than push every row wide.
  const width = Math.min(Math.max(...rows.map((r) => r.cites.length), 10), 32);
  console.log(`${'status'.padEnd(7)} ${'statements'.padEnd(width)} case`);
  for (const row of rows) {
    console.log(
      `${(row.status === 'passed' ? 'pass' : row.status === 'failed' ? 'FAIL' : row.status).padEnd(7)} ${row.cites.padEnd(width)} ${row.title} (${row.file})`,
    );
    if (row.failure) console.log(`        ${row.failure.split('\n')[0]}`);
  }
  // A file that failed outside its cases (a hook, an import) has no failing row of its own.
  const broken = report.testResults.filter((file) => file.status === 'failed' && !file.assertionResults.some((t) => t.status === 'failed'));
  for (const file of broken) {
    const why = file.message?.split('\n')[0] || `failed outside its cases (a hook or an import); see npx vitest run ${file.name}`;
    console.log(`FAIL    ${''.padEnd(width)} (${file.name.split('/').pop()}) ${why}`);
  }
  const count = (status: string): number => rows.filter((r) => r.status === status).length;
  const passed = count('passed');
  const failed = count('failed') + broken.length + (run.status !== 0 && count('failed') + broken.length === 0 ? 1 : 0);
  console.log(`suite=conformance passed=${passed} failed=${failed} skipped=${rows.length - passed - count('failed')}`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
