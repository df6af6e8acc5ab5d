import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { StepResult } from './bench-step.ts';

/** What the results file says about the machine, so numbers from different hosts are never mixed up. */
export function machineDescription(): Record<string, string | number> {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memory_gb: Number((totalmem() / 2 ** 30).toFixed(1)),
    free_memory_gb: Number((freemem() / 2 ** 30).toFixed(1)),
    load_1m_at_start: Number(loadavg()[0]!.toFixed(2)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The keys worth a column, per script; everything else stays in the JSON file. */
const HEADLINE: Record<string, string[]> = {
  'bench:broker': ['qos1_eps', 'mosquitto_qos1_eps', 'ratio', 'p99_ms'],
  'bench:ingest': ['store', 'e2e_eps', 'ceiling_eps', 'ratio', 'p50_ms', 'p99_ms'],
  'bench:sim': ['machines', 'events_per_s', 'rss_mb', 'mb_per_machine', 'ratio'],
  'bench:processes': ['machines', 'single_ready_s', 'multi_ready_s', 'single_stored_eps', 'multi_stored_eps', 'eps_ratio'],
};

export function tableRows(results: readonly StepResult[]): string[][] {
  return results.flatMap((r) => {
    const head = [r.name, r.scale === null ? '' : `${r.scale}x`, r.status, r.seconds.toFixed(0)];
    if (r.summaries.length === 0) return [[...head, r.note]];
    return r.summaries.map((s) => [
      ...head,
      (HEADLINE[r.script] ?? Object.keys(s))
        .filter((k) => k in s)
        .map((k) => `${k}=${s[k]}`)
        .join(' '),
    ]);
  });
}

export const TABLE_HEADER = ['step', 'fleet', 'status', 'seconds', 'result'];

export function textTable(rows: readonly string[][]): string {
  const all = [TABLE_HEADER, ...rows];
  const widths = TABLE_HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function markdown(rows: readonly string[][], machine: Record<string, string | number>, command: string, startedAt: string, summary: string): string {
  const cells = (r: readonly string[]): string => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    `# Benchmark results (${startedAt})`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${Object.entries(machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    cells(TABLE_HEADER),
    cells(TABLE_HEADER.map(() => '---')),
    ...rows.map(cells),
    '',
    `\`${summary}\``,
    '',
  ].join('\n');
}
