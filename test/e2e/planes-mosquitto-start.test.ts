import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mosquittoInstalled } from '../mosquitto/mosquitto-process.ts';
import { startChildCli, summaryFigures } from '../support/child-cli.ts';
import { mosquittoProcessesUnder } from '../support/processes.ts';

const available = mosquittoInstalled();

/** `npm start -- --planes --plane-broker mosquitto` as a user runs it, ended with Ctrl-C. */
describe.skipIf(!available)('npm start -- --planes --plane-broker mosquitto', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-start-mosq-'));
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs a Mosquitto per plane, stores each region’s events at home, and on Ctrl-C stops them all and prints the summary', async () => {
    const child = startChildCli('launcher/main.ts', [
      '--planes',
      '--plane-broker',
      'mosquitto',
      '--machines',
      '10',
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
      await child.waitFor(/stored eu [1-9]\d*\s+us [1-9]/, 120_000);
      // Both brokers are Mosquitto processes started for this data folder, none of ours beside them.
      expect((await mosquittoProcessesUnder(dataDir)).length).toBe(2);
      const planeFiles = await readdir(join(dataDir, 'planes', 'eu', 'mosquitto'));
      expect(planeFiles).toEqual(expect.arrayContaining(['mosquitto.conf', 'passwd', 'acl']));
      child.signal('SIGINT');
      expect(await child.exited(60_000)).toBe(0);
      const out = child.stdout();
      expect(out).toMatch(/stopping \(Ctrl-C\)/);
      expect(out).toMatch(/plane eu\s+dashboard http:\/\/127\.0\.0\.1:\d+\/\s+MQTT mqtt:\/\/127\.0\.0\.1:\d+/);
      const figures = summaryFigures(out);
      expect(Number(figures.stored_eu)).toBeGreaterThan(0);
      expect(Number(figures.stored_us)).toBeGreaterThan(0);
      expect(Number(figures.stored) + Number(figures.refused)).toBe(Number(figures.published));
      expect(figures.connected).toBe('10');
      expect(await mosquittoProcessesUnder(dataDir)).toEqual([]);
    } finally {
      child.kill();
    }
  }, 180_000);
});

describe('npm start -- --planes --plane-broker mosquitto without Mosquitto', () => {
  let dataDir = '';
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-start-nomosq-'));
  });
  afterEach(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('names the missing binary and exits 1', async () => {
    const child = startChildCli('launcher/main.ts', [
      '--planes',
      '--plane-broker',
      'mosquitto',
      '--mosquitto-bin',
      join(dataDir, 'absent', 'mosquitto'),
      '--machines',
      '0',
      '--http-port',
      '0',
      '--mqtt-port',
      '0',
      '--data-dir',
      dataDir,
    ]);
    try {
      expect(await child.exited(60_000)).toBe(1);
      expect(child.stderr()).toMatch(/absent\/mosquitto: not found; a Mosquitto plane needs the Mosquitto broker/);
    } finally {
      child.kill();
    }
  }, 90_000);
});
