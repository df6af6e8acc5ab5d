import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';

/** `npm start` as a user runs it: Ctrl-C while it provisions or while its fleet connects still ends with the summary. */
describe('npm start, interrupted', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-start-interrupt-'));
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const launch = (args: string[]): ReturnType<typeof startChildCli> =>
    startChildCli('launcher/main.ts', ['--http-port', '0', '--mqtt-port', '0', '--ws-port', 'off', '--data-dir', dataDir, ...args]);

  it('during startup (provisioning, then creating owners): the summary with connected=0 connect_s=-, exit 0', async () => {
    // Enough machines that provisioning and owners outlast the first one-second progress tick on a
    // quiet machine too (about 2,000 provisioned and 4,000 owners a second here): 400 were done before it.
    const child = launch(['--machines', '5000']);
    try {
      await child.waitFor(/\] (provisioning|creating owners) \d+\/5000 \(\d+\/s\)/);
      child.signal('SIGINT');
      expect(await child.exited()).toBe(0);
      expect(child.stdout()).toContain('stopping (Ctrl-C during startup) ...');
      expect(summaryFigures(child.stdout())).toMatchObject({ published: '0', connected: '0', connect_s: '-' });
      expect(child.stderr()).toBe('');
    } finally {
      child.kill();
    }
  }, 90_000);

  it('while the fleet connects: connected n/total with a rate on the live line, then the summary, exit 0', async () => {
    // 4 connection attempts a second for 40 machines: about 10 s of ramp for the signal to land in.
    const child = launch(['--machines', '40', '--connect-rate', '4/s']);
    try {
      await child.waitFor(/\] connected [1-9]\d*\/40 \(\d+\/s\) \| published/);
      child.signal('SIGINT');
      expect(await child.exited()).toBe(0);
      const figures = summaryFigures(child.stdout());
      expect(Number(figures.connected)).toBeGreaterThan(0);
      expect(Number(figures.connected)).toBeLessThan(40);
      expect(figures.connect_s).toBe('-');
      // Forty machines in real time fill no buffer: nothing was given up before sending.
      expect(figures.dropped).toBe('0');
      expect(Number(figures.stored) + Number(figures.refused)).toBe(Number(figures.published));
    } finally {
      child.kill();
    }
  }, 90_000);
});
