/**
 * `npm run sim -- --slice K/N` processes for a benchmark: one fleet split over N processes, each
 * compiled to plain JavaScript first (as bench:sim does), so a process's RSS is the simulator's and
 * not the TypeScript loader's. Their progress lines (stderr, one a second off a terminal) are read
 * for the connected and published counts; their summary line (stdout) once they stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { compileBenchEntry } from './compile-entry.ts';

/** firmware-sim/cli.ts as one ES module in node_modules/.cache (dependencies stay external). */
export const compileSimCli = (): Promise<string> => compileBenchEntry('firmware-sim/cli.ts', 'bench-sim-cli');

export interface SimSliceOptions {
  entry: string;
  slice: { index: number; of: number };
  machines: number;
  brokerUrl: string;
  apiUrl: string;
  adminToken: string;
  seed: number;
  speed: number;
}

/** One simulator process running its slice, until stop(). */
export class SimSlice {
  readonly child: ChildProcess;
  /** Counts from its latest progress line. */
  connected = 0;
  published = 0;
  /** The slice's machine count, once its first `connected …/M` line named it. */
  total: number | null = null;
  /** performance.now() when its first `connected` line came: provisioning was over. */
  connectingSince: number | null = null;
  /** performance.now() when it first reported all of its machines connected. */
  allConnectedAt: number | null = null;
  private stdout = '';
  private stderrTail = '';
  private partial = '';
  private readonly exited: Promise<unknown>;

  constructor(readonly options: SimSliceOptions) {
    const o = options;
    const args = [
      ...['--broker', o.brokerUrl, '--api', o.apiUrl, '--machines', String(o.machines), '--slice', `${o.slice.index}/${o.slice.of}`],
      ...['--seed', String(o.seed), '--speed', String(o.speed), '--log-level', 'error'],
    ];
    this.child = spawn(process.execPath, ['--max-semi-space-size=4', o.entry, ...args], {
      env: { ...process.env, BREWTEL_TOKEN: o.adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = once(this.child, 'exit');
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout = (this.stdout + chunk.toString('utf8')).slice(-8000);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => this.read(chunk.toString('utf8')));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few lines it wrote to stderr, for an error message. */
  get lastWords(): string {
    return this.stderrTail.trim().split('\n').slice(-3).join(' | ');
  }

  private read(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-2000);
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const counts = /^connected (\d+)\/(\d+)/.exec(line);
      if (counts === null) continue;
      this.connected = Number(counts[1]);
      this.total = Number(counts[2]);
      this.published = Number(/published (\d+)/.exec(line)?.[1] ?? this.published);
      this.connectingSince ??= performance.now();
      if (this.connected >= this.total) this.allConnectedAt ??= performance.now();
    }
  }

  /** SIGINT (the simulator's Ctrl-C: drain, say offline, print the summary), SIGKILL after `timeoutMs`; then its summary pairs. */
  async stop(timeoutMs = 30_000): Promise<Record<string, string>> {
    if (this.running) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    const last = this.stdout.trim().split('\n').at(-1) ?? '';
    return last.startsWith('machines=') ? Object.fromEntries(last.split(' ').map((pair) => pair.split('=') as [string, string])) : {};
  }
}
