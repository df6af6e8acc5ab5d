import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { launcherConfigSchema } from '../../launcher/config.ts';
import { main } from '../../launcher/scenario-cli.ts';
import { runScenario } from '../../launcher/scenario-run.ts';
import { scenarioSchema } from '../../launcher/scenario-schema.ts';
import { startStack, type Stack } from '../../launcher/stack.ts';

/**
 * A scenario against a deployment that is not the harness's own: a stack started here stands for it,
 * reached only through its broker URL and its HTTP API with an admin token, as a CI job would reach
 * a staging deployment.
 */
describe('scenario run against a server elsewhere (--server, --broker)', () => {
  let dataDir = '';
  let deployment: Stack;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'brewtel-remote-'));
    deployment = await startStack(
      launcherConfigSchema.parse({
        machines: 0,
        leaky: 0,
        httpPort: 0,
        mqttPort: 0,
        wsPort: null,
        dataDir,
        regions: ['eu', 'us'],
        speed: 3_600,
        logLevel: 'silent',
      }),
      pino({ level: 'silent' }),
    );
  }, 60_000);
  afterAll(async () => {
    await deployment?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('provisions through its API, runs the machines here, and judges by what its API answers', async () => {
    const scenario = scenarioSchema.parse({
      name: 'remote',
      fleet: { machines: 4, leaky: 1, regions: ['eu', 'us'] },
      devices: { kiosk: { region: 'eu', consent: { usage: true, location: 'coarse', payment: true, diagnostics: true } } },
      steps: [
        { name: 'stores', after: { stored: { count: 10 }, timeout: '40s' } },
        { name: 'the leaky machine is refused', after: { refused: { count: 1, reason: 'schema_invalid' }, timeout: '40s' } },
        { name: 'reboot the kiosk', do: { command: { devices: 'kiosk', name: 'reboot' } }, expect: [{ commandResults: { status: 'ok', equals: 1 } }] },
        { name: 'no outage from outside', do: { outage: { region: 'eu', for: '1s' } } },
      ],
      expect: [{ residencyViolations: 0 }, { unconsentedRows: 0 }, { stored: { region: 'us', min: 1 } }],
    });
    const outcome = await runScenario(scenario, {
      remote: { httpUrl: deployment.server.httpUrl, adminToken: deployment.adminToken, mqttUrl: deployment.mqttUrl },
    });
    expect(outcome.steps.slice(0, 3).map((s) => [s.name, s.error, s.expectations.every((j) => j.passed)])).toEqual([
      ['stores', undefined, true],
      ['the leaky machine is refused', undefined, true],
      ['reboot the kiosk', undefined, true],
    ]);
    expect(outcome.expectations.filter((j) => !j.passed).map((j) => j.message)).toEqual([
      expect.stringContaining('a region outage cannot be made against a server elsewhere'),
    ]);
    expect(outcome.expectations.slice(0, 3).every((j) => j.passed)).toBe(true);
    // What the deployment stored is in the deployment's own stores.
    expect(Object.values(deployment.server.stats().stored).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(10);
  }, 90_000);

  it('refuses --server without --broker or a token, with exit code 2', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['run', 'examples/scenarios/commands.yaml', '--server', 'http://127.0.0.1:9'], {})).toBe(2);
      expect(error.mock.calls.flat().join('\n')).toContain('--server needs --broker URL and --token T');
    } finally {
      error.mockRestore();
    }
  });
});
