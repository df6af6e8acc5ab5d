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

  it('runs for --duration and ends with a key=value summary', async () => {
    const credentials = join(dir, 'machines.json');
    const machines = [0, 1].map((i) => ({ deviceId: `cm-cli-${i}`, secret: 's', region: 'eu', profile: 'leaky', usage: 'cafe' }));
    await writeFile(credentials, JSON.stringify(machines));
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const args = ['--import', 'tsx', 'firmware-sim/cli.ts', '--broker', brokerUrl, '--credentials', credentials, '--speed', '3600', '--duration', '1'];
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
      execFile(process.execPath, args, { timeout: 30_000 }, (error, out) => (error ? reject(error) : resolve({ stdout: out }))),
    );
    const last = stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^machines=2 connected=2 published=\d+ suppressed=0 failed=0 pending=0$/);
    expect(Number(/published=(\d+)/.exec(last)![1])).toBeGreaterThan(0);
  });
});
