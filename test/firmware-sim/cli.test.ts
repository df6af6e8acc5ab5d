import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../../firmware-sim/cli-args.ts';

describe('sim CLI arguments', () => {
  it('needs exactly one source of machines', () => {
    expect(parseCli(['--broker', 'mqtt://h:1883'], {})).toMatchObject({ error: expect.stringContaining('--credentials') });
    expect(parseCli(['--broker', 'mqtt://h:1883', '--api', 'http://h:8080'], {})).toMatchObject({ error: expect.stringContaining('--token') });
    const viaEnv = parseCli(['--broker', 'mqtt://h:1883', '--api', 'http://h:8080'], { BREWTEL_ADMIN_TOKEN: 'secret-token' });
    expect(viaEnv).toMatchObject({ config: { token: 'secret-token', regions: ['eu', 'us', 'cn'], speed: 60 } });
  });

  it('names the flag that is wrong', () => {
    expect(parseCli(['--broker', 'localhost', '--credentials', 'f'], {})).toMatchObject({ error: expect.stringMatching(/^--broker/) });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--speed', '0'], {})).toMatchObject({ error: expect.stringMatching(/^--speed/) });
    expect(parseCli(['--nope'], {})).toMatchObject({ error: expect.stringContaining('nope') });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--faults', 'drop'], {})).toMatchObject({ error: expect.stringMatching(/^--faults/) });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--faults', 'drop=0.7,duplicate=0.7'], {})).toMatchObject({
      error: expect.stringMatching(/^--faults/),
    });
  });

  it('reads fault rates, the offline buffer and a replay without a machine source', () => {
    const parsed = parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--faults', 'drop=0.01,delayMs=300', '--offline-buffer', '50'], {});
    expect(parsed).toMatchObject({ config: { faults: { drop: 0.01, duplicate: 0, delayMs: 300 }, offlineBuffer: 50 } });
    expect(parseCli(['--broker', 'mqtt://h', '--replay', 'run.jsonl', '--replay-pace', '0'], {})).toMatchObject({
      config: { replay: 'run.jsonl', replayPace: 0 },
    });
    expect(parseCli(['--broker', 'mqtt://h', '--replay', 'run.jsonl', '--api', 'http://h', '--token', 't'], {})).toMatchObject({
      error: expect.stringContaining('--replay'),
    });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--profile', 'leaky'], {})).toMatchObject({ config: { profile: 'leaky' } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--profile', 'chatty'], {})).toMatchObject({ error: expect.stringMatching(/^--profile/) });
  });

  it('reads --mqtt-version 3.1.1|5 as the protocol level, MQTT 5 by default', () => {
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f'], {})).toMatchObject({ config: { mqttVersion: 5 } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--mqtt-version', '3.1.1'], {})).toMatchObject({ config: { mqttVersion: 4 } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--mqtt-version', '5'], {})).toMatchObject({ config: { mqttVersion: 5 } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--mqtt-version', '4'], {})).toMatchObject({ error: '--mqtt-version: expected 3.1.1 or 5' });
  });

  it('reads --topic-aliases on|off, on by default', () => {
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f'], {})).toMatchObject({ config: { topicAliases: true } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--topic-aliases', 'off'], {})).toMatchObject({ config: { topicAliases: false } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--topic-aliases', 'on'], {})).toMatchObject({ config: { topicAliases: true } });
    expect(parseCli(['--broker', 'mqtt://h', '--credentials', 'f', '--topic-aliases', 'yes'], {})).toMatchObject({
      error: '--topic-aliases: expected on or off',
    });
  });
});

describe('npm run sim against a real broker', () => {
  let broker: Aedes;
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    dir = await mkdtemp(join(tmpdir(), 'brewtel-sim-'));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const runCli = (args: string[]): Promise<string> =>
    new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', 'firmware-sim/cli.ts', ...args], { timeout: 30_000 }, (error, out) =>
        error ? reject(error) : resolve(out),
      ),
    );

  it('runs for --duration, records the run, ends with a key=value summary; the recording replays', async () => {
    const credentials = join(dir, 'machines.json');
    // No consent on this broker: only because --profile makes them leaky do these machines publish at all.
    const machines = [0, 1].map((i) => ({ deviceId: `cm-cli-${i}`, secret: 's', region: 'eu', usage: 'cafe' }));
    await writeFile(credentials, JSON.stringify(machines));
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const recording = join(dir, 'run.jsonl');
    const stdout = await runCli([
      '--broker',
      brokerUrl,
      '--credentials',
      credentials,
      '--profile',
      'leaky',
      '--speed',
      '3600',
      '--duration',
      '1',
      '--record',
      recording,
    ]);
    const last = stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^machines=2 connected=2 published=\d+ suppressed=0 failed=0 pending=0 buffered=0 dropped=0 redirected=0 relocated=0 refused=0 connect_s=[\d.]+$/,
    );
    const published = Number(/published=(\d+)/.exec(last)![1]);
    expect(published).toBeGreaterThan(0);

    const replayed = (await runCli(['--broker', brokerUrl, '--replay', recording, '--replay-pace', '0'])).trim().split('\n').at(-1)!;
    expect(replayed).toBe(
      `machines=2 connected=0 published=${published} suppressed=0 failed=0 pending=0 buffered=0 dropped=0 redirected=0 relocated=0 refused=0`,
    );
  });
});
