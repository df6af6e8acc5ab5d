/** The machine-readable last line of a benchmark: `key=value` pairs in the order given. */
export function writeSummaryLine(figures: Record<string, string | number>): void {
  process.stdout.write(
    `${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}\n`,
  );
}

/** Runs a benchmark's `main` as the whole process: exit 0 once it has printed its summary, 1 with the error otherwise. */
export function runBench(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
