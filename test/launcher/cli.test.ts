import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../launcher/cli.ts';

/** `brewtel` called as a function: what it prints and the exit code it returns, no process spawned. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => void err.push(parts.join(' ')));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await main(argv, {});
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('brewtel', () => {
  it('lists its commands with --help and exits 0; without a command it exits 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['start', 'sim', 'broker', 'server', 'config', 'compliance']) expect(help.out).toContain(`  ${name} `);
    expect((await run([])).code).toBe(2);
  });

  it('refuses an unknown command with exit code 2, naming it', async () => {
    const result = await run(['brew']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('unknown command "brew"');
  });

  it.each(['start', 'sim', 'broker', 'server', 'compliance'])('%s --help prints its usage and exits 0', async (name) => {
    const result = await run([name, '--help']);
    expect(result.code).toBe(0);
    expect(result.out).toContain(`Usage: brewtel ${name}`);
  });

  it.each([
    [['start', '--machines', 'many'], '--machines'],
    [['sim', '--machines', '3'], '--broker'],
    [['broker', '--unsafe-permissive-test-mode', '--max-connections', '0'], '--max-connections'],
    [['server', '--store', 'eu'], '--store expects REGION=URL'],
    [['compliance', '--token', 'x'], '--api is required'],
    [['server', '--no-such-flag'], 'no-such-flag'],
  ])('%j is bad usage: exit 2 and a line naming %s', async (argv, named) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toContain(named);
  });
});
