import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdentityListSchema } from '../../firmware-sim/fleet-options.ts';
import type { Stack } from '../../launcher/stack.ts';
import { startEmptyStack, type EmptyStack } from '../support/empty-stack.ts';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';

/** `npm run sim` as a process against the embedded stack (auth on): Ctrl-C in each phase ends with the summary. */
describe('npm run sim, interrupted', () => {
  let dataDir: string;
  let stack: Stack;
  let running: EmptyStack | undefined;
  beforeAll(async () => {
    running = await startEmptyStack('brewtel-sim-interrupt-');
    ({ stack, dataDir } = running);
  }, 60_000);
  afterAll(async () => {
    await running?.close();
  });

  const sim = (args: string[]): ReturnType<typeof startChildCli> =>
    startChildCli('firmware-sim/cli.ts', ['--broker', stack.mqttUrl, '--api', stack.server.httpUrl, '--speed', '60', '--log-level', 'silent', ...args], {
      BREWTEL_TOKEN: stack.adminToken,
    });

  it('while connecting: shows connected/total with a rate, then the summary with connected= and connect_s=-, exit 0', async () => {
    // 5 attempts a second for 60 machines: the ramp takes about 12 s, so the signal lands in it.
    const child = sim(['--machines', '60', '--connect-rate', '5/s']);
    try {
      await child.waitFor(/connected [1-9]\d*\/60 \(\d+\/s\)/);
      child.signal('SIGINT');
      expect(await child.exited()).toBe(0);
      const figures = summaryFigures(child.stdout());
      expect(Number(figures.machines)).toBe(60);
      expect(Number(figures.connected)).toBeGreaterThan(0);
      expect(Number(figures.connected)).toBeLessThan(60);
      expect(figures.connect_s).toBe('-');
    } finally {
      child.kill();
    }
  }, 90_000);

  it('while provisioning: stops after the batches under way, saves their credentials, prints the summary, exit 0', async () => {
    const saved = join(dataDir, 'partial.json');
    // Five batches of 1,000, two at a time: the signal comes as the first is sent.
    const child = sim(['--machines', '5000', '--save-credentials', saved]);
    try {
      await child.waitFor(/provisioning 0\/5000/);
      child.signal('SIGINT');
      expect(await child.exited()).toBe(0);
      expect(child.stdout()).toMatch(/interrupted while provisioning: \d+ of 5000 machines provisioned, none started/);
      const figures = summaryFigures(child.stdout());
      const provisioned = Number(figures.machines);
      expect(provisioned).toBeLessThan(5000);
      expect(figures.connected).toBe('0');
      expect(figures.connect_s).toBe('-');
      // What was provisioned is kept: those machines exist at the server with these secrets only.
      expect(machineIdentityListSchema.parse(JSON.parse(await readFile(saved, 'utf8')))).toHaveLength(provisioned);
    } finally {
      child.kill();
    }
  }, 90_000);

  it('when every machine connected: connect_s is the seconds it took', async () => {
    const child = sim(['--machines', '4', '--duration', '1']);
    try {
      expect(await child.exited(60_000)).toBe(0);
      const figures = summaryFigures(child.stdout());
      expect(figures.connected).toBe('4');
      expect(Number(figures.connect_s)).toBeGreaterThan(0);
    } finally {
      child.kill();
    }
  }, 90_000);
});
