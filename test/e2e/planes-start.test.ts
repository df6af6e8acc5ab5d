import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';

/** `npm start -- --planes` as a user runs it: planes and the directory as processes, the fleet at home, the summary at the end. */
describe('npm start -- --planes', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-start-planes-'));
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('stores every region’s events in its own plane and ends with the summary, exit 0', async () => {
    const child = startChildCli('launcher/main.ts', [
      '--planes',
      '--machines',
      '12',
      '--duration',
      '6',
      '--regions',
      'eu,us',
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
    ]);
    try {
      expect(await child.exited(150_000)).toBe(0);
      const out = child.stdout();
      expect(out).toMatch(/plane eu\s+dashboard http:\/\/127\.0\.0\.1:\d+\//);
      expect(out).toMatch(/directory\s+http:\/\/127\.0\.0\.1:\d+\/api\/v1\/directory/);
      // Where the deployment overview is: the directory's own page.
      expect(out).toMatch(/overview\s+http:\/\/127\.0\.0\.1:\d+\/\s/);
      const figures = summaryFigures(out);
      expect(Number(figures.stored_eu)).toBeGreaterThan(0);
      expect(Number(figures.stored_us)).toBeGreaterThan(0);
      expect(Number(figures.stored) + Number(figures.refused)).toBe(Number(figures.published));
      expect(figures.connected).toBe('12');
      // Each plane's folder holds its own region's store, and only that one.
      expect((await readdir(join(dataDir, 'planes', 'eu'))).filter((f) => /^(eu|us)\.db$/.test(f))).toEqual(['eu.db']);
      expect((await readdir(join(dataDir, 'planes', 'us'))).filter((f) => /^(eu|us)\.db$/.test(f))).toEqual(['us.db']);
    } finally {
      child.kill();
    }
  }, 180_000);
});
