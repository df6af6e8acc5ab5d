import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main as configMain } from '../../launcher/config-cli.ts';
import { describeConfig } from '../../launcher/effective-config.ts';
import { readLauncherSettings } from '../../launcher/flags.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brewtel-config-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const YAML = `# brewtel start's settings
machines: 12
seed: 4
regions: [eu, us]
stores:
  eu: postgresql://postgres@127.0.0.1:5432/brewtel_eu
broker:
  limits:
    maxConnections: 500
server:
  ingest:
    quarantinePayloads: true
    regionInFlightMax: 250
  privacy:
    retention:
      location: 7
    pseudonymSecrets:
      eu: pseudonym-secret-of-eu-0123456789abcdef
fleet:
  offlineBufferSize: 50
tokens:
  - { role: auditor, token: auditor-token-from-the-file-0123 }
`;

function settings(argv: string[], env: Record<string, string> = {}) {
  const result = readLauncherSettings(argv, env, { cwd: dir });
  if (result.help || 'error' in result) throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

describe('brewtel.config.(json|yaml)', () => {
  it('is found in the working directory and reaches the settings only code could set before', async () => {
    await writeFile(join(dir, 'brewtel.config.yaml'), YAML);
    const { config, file } = settings([]);
    expect(file?.path).toBe(join(dir, 'brewtel.config.yaml'));
    expect(config).toMatchObject({ machines: 12, seed: 4, regions: ['eu', 'us'], stores: { eu: 'postgresql://postgres@127.0.0.1:5432/brewtel_eu' } });
    expect(config.broker.limits.maxConnections).toBe(500);
    expect(config.server.ingest).toMatchObject({ quarantinePayloads: true, regionInFlightMax: 250 });
    expect(config.server.privacy.retention).toMatchObject({ location: 7, usage: 365 });
    expect(config.server.privacy.pseudonymSecrets).toEqual({ eu: 'pseudonym-secret-of-eu-0123456789abcdef' });
    expect(config.fleet.offlineBufferSize).toBe(50);
  });

  it('gives way to the environment and flags: default < file < env < flag', async () => {
    await writeFile(join(dir, 'settings.json'), JSON.stringify({ machines: 12, seed: 4, httpPort: 9000, adminToken: 'admin-token-from-the-file-0123' }));
    const { config, layers } = settings(['--config', 'settings.json', '--machines', '5'], { BREWTEL_ADMIN_TOKEN: 'admin-token-from-the-env-01234' });
    expect(config).toMatchObject({ machines: 5, seed: 4, httpPort: 9000, mqttPort: 1883, adminToken: 'admin-token-from-the-env-01234' });
    const lines = describeConfig(config, layers);
    expect(lines).toContain('machines = 5   (flag)');
    expect(lines).toContain('seed = 4   (file)');
    expect(lines).toContain('mqttPort = 1883   (default)');
    expect(lines).toContain('adminToken = "[masked]"   (env)');
  });

  it("keeps the file's broker TLS and cluster when no broker flag is given, and a flag still overrides one limit", async () => {
    await writeFile(
      join(dir, 'brewtel.config.json'),
      JSON.stringify({ broker: { cluster: { redisUrl: 'redis://127.0.0.1:6379' }, limits: { maxConnections: 10, publishBurst: 99 } } }),
    );
    const { config } = settings(['--max-connections', '20']);
    expect(config.broker.cluster).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379' });
    expect(config.broker.limits).toMatchObject({ maxConnections: 20, publishBurst: 99 });
  });

  it('refuses a bad value with the file and the path of the setting', async () => {
    await writeFile(join(dir, 'brewtel.config.yaml'), 'server:\n  ingest:\n    regionInFlightMax: 0\n');
    const result = readLauncherSettings([], {}, { cwd: dir });
    expect(result).toEqual({
      help: false,
      error: expect.stringMatching(new RegExp(`^${join(dir, 'brewtel.config.yaml').replace(/[.]/g, '\\.')}: server\\.ingest\\.regionInFlightMax: .*>=1`)),
    });
  });

  it('refuses a setting it does not know, at any depth, naming each (a typo is not a default)', async () => {
    await writeFile(
      join(dir, 'brewtel.config.yaml'),
      'machnes: 3\nserver:\n  ingest:\n    batchMaxx: 10\n  privacy:\n    retention:\n      location: 7\nbroker:\n  limits:\n    maxConnections: 5\n',
    );
    expect(readLauncherSettings([], {}, { cwd: dir })).toEqual({
      help: false,
      error: `${join(dir, 'brewtel.config.yaml')}: machnes, server.ingest.batchMaxx: not a setting (see brewtel config schema)`,
    });
  });

  it('names the flag when the bad value came from a flag, and the file when it does not parse', async () => {
    await writeFile(join(dir, 'brewtel.config.yaml'), 'machines: 3\n');
    expect(readLauncherSettings(['--machines', 'x'], {}, { cwd: dir })).toEqual({ help: false, error: expect.stringMatching(/^--machines: /) });
    await writeFile(join(dir, 'broken.json'), '{ "machines": ');
    expect(readLauncherSettings(['--config', 'broken.json'], {}, { cwd: dir })).toEqual({
      help: false,
      error: expect.stringMatching(/broken\.json: not valid JSON/),
    });
    expect(readLauncherSettings(['--config', 'missing.yaml'], {}, { cwd: dir })).toEqual({
      help: false,
      error: expect.stringMatching(/missing\.yaml: cannot read the config file \(ENOENT\)/),
    });
  });

  it('config print masks every token and secret and says where each value came from', async () => {
    await writeFile(join(dir, 'brewtel.config.yaml'), YAML);
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(process, 'cwd').mockReturnValue(dir);
    expect(await configMain(['print', '--seed', '9'], { BREWTEL_TOKENS: 'operator:eu:operator-token-from-env-0123' })).toBe(0);
    const text = out.join('\n');
    for (const secret of ['auditor-token-from-the-file-0123', 'pseudonym-secret-of-eu-0123456789abcdef', 'operator-token-from-env-0123'])
      expect(text).not.toContain(secret);
    expect(text).toContain('server.privacy.pseudonymSecrets = {"eu":"[masked]"}   (file)');
    expect(text).toContain('seed = 9   (flag)');
    expect(text).toContain('server.ingest.quarantinePayloads = true   (file)');
    expect(text).toContain('server.privacy.retention.usage = 365   (default)');
    expect(text).toMatch(/tokens = \[\{"token":"\[masked\]","role":"auditor"\},\{"token":"\[masked\]","role":"operator","region":"eu"\}\]/);
  });

  it('config schema prints a JSON Schema with the broker, server and fleet sections', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    expect(await configMain(['schema'], {})).toBe(0);
    const schema = JSON.parse(out.join('\n')) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['machines', 'stores', 'broker', 'server', 'fleet']));
    expect(Object.keys(schema.properties.server!.properties!)).toEqual(expect.arrayContaining(['ingest', 'privacy']));
  });
});
