import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLauncherConfig } from '../../launcher/flags.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brewtel-plane-broker-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const read = (argv: string[]) => readLauncherConfig(argv, {}, { cwd: dir });

describe('--plane-broker', () => {
  it('defaults to our broker and takes mosquitto with --planes, from a flag or the config file', async () => {
    expect(read(['--planes'])).toMatchObject({ config: { planeBroker: 'aedes', mosquittoBin: '/usr/sbin/mosquitto' } });
    expect(read(['--planes', '--plane-broker', 'mosquitto', '--mosquitto-bin', '/opt/mosquitto/sbin/mosquitto'])).toMatchObject({
      config: { planes: true, planeBroker: 'mosquitto', mosquittoBin: '/opt/mosquitto/sbin/mosquitto' },
    });
    await writeFile(join(dir, 'brewtel.config.yaml'), 'planes: true\nplaneBroker: mosquitto\n');
    expect(read([])).toMatchObject({ config: { planes: true, planeBroker: 'mosquitto' } });
  });

  it('refuses another broker, and a plane broker without --planes, naming the flag', () => {
    expect(read(['--planes', '--plane-broker', 'emqx'])).toMatchObject({ error: expect.stringMatching(/^--plane-broker: /) });
    expect(read(['--plane-broker', 'mosquitto'])).toEqual({ help: false, error: '--plane-broker: a plane broker is chosen for --planes only' });
  });
});
