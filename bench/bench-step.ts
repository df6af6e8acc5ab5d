import { spawn } from 'node:child_process';

/** One benchmark of the suite: an npm script, its arguments and the fleet-size factor it stands for. */
export interface BenchStep {
  name: string;
  script: string;
  args: string[];
  /** 1, 4 or 16 where the step is one point of a fleet-size series; null otherwise. */
  scale: number | null;
}

export interface StepResult {
  name: string;
  script: string;
  args: string[];
  scale: number | null;
  status: 'ok' | 'failed' | 'timed_out' | 'skipped';
  note: string;
  seconds: number;
  /** key=value pairs of each summary line the script printed, in order (bench:ingest prints one per store). */
  summaries: Record<string, string>[];
  /** The script's own output, kept for the results file. */
  output: string;
}

const SUMMARY_LINE = /^(?:[a-z0-9_]+=\S+)(?:\s+[a-z0-9_]+=\S+)*$/;

/** The `key=value …` lines a bench script ends with (DESIGN.md: every bench command ends with one). */
export function parseSummaries(output: string): Record<string, string>[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => SUMMARY_LINE.test(l))
    .map((l) => Object.fromEntries(l.split(/\s+/).map((pair) => pair.split('=') as [string, string])));
}

/**
 * Runs `npm run --silent <script> -- <args>` in its own process group, so a step that overruns its
 * deadline is stopped together with the brokers and publishers it forked.
 */
export function runStep(step: BenchStep, deadlineMs: number, cwd: string): Promise<StepResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', step.script, '--', ...step.args], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, deadlineMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      const summaries = parseSummaries(output);
      const status = timedOut ? 'timed_out' : code === 0 && summaries.length > 0 ? 'ok' : 'failed';
      const note = timedOut ? `stopped after ${deadlineMs / 1000} s` : code !== 0 ? `exit ${code}` : summaries.length === 0 ? 'no summary line' : '';
      resolve({ ...step, status, note, seconds: (performance.now() - started) / 1000, summaries, output });
    });
  });
}
